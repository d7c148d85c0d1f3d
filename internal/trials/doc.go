// Package trials holds the reliability trials of the operator: it is killed
// mid-deploy, its API server and git server go away, it is flooded with
// concurrent deploys and hostile requests, and its rights are probed. Each
// trial is a Go test against a real local control plane and a real `envop
// serve` process. Plain `go test` runs the short form; ENVOP_TRIALS=long runs
// the long form and writes the results into docs/reliability.md.
package trials
