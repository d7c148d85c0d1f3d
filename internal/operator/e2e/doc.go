// Package e2e drives a whole operator (operator.Run, in process) against
// the real local control plane, through its HTTP API, the way CI pipelines
// and the acceptance scenarios do: git commits in, deploys and status out.
package e2e
