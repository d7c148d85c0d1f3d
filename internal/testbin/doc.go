// Package testbin gives tests the envop binary: the one `make test` built
// once for every package (its absolute path in ENVOP_BIN), or, when the
// variable is unset (`go test ./internal/xyz` alone), one built for the
// caller.
package testbin
