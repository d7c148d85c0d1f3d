// Package dextest runs a real Dex, the OpenID Connect provider built by
// hack/dex/build.sh, for tests: over TLS on a free loopback port, with
// in-memory storage, static password users and the clients a test names.
//
// When the Dex binary is missing the test fails, it never skips: build it
// with `make dex` (make test does).
package dextest
