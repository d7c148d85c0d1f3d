// Package render turns one environment of a manifest into the Kubernetes
// objects that run it. It is pure: no I/O and no API calls, so the same input
// always gives the same, sorted list of objects, and golden files and fuzzing
// can pin it down. Everything it needs from outside (registry, versions
// deployed through the API, gist file contents) arrives in Options.
package render
