// Package operator assembles and runs `envop serve`: the Kubernetes clients,
// the persisted state, the health monitor, the applier, the controller, the
// deploy tracker, the git poller and the HTTP server, and stops them all
// when the context ends.
package operator
