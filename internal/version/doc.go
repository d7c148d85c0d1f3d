// Package version reports the build's version, set at link time by the
// Makefile and falling back to the module build information.
package version
