// Package cli implements the envop command line: the operator (`serve`), the
// manifest tools (`validate`, `render`, `diff`, `install`) and the client
// commands that drive an operator's HTTP API. Run is the whole program minus
// process concerns, so tests drive it in-process with their own streams.
package cli
