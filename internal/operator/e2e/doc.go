// Package e2e drives a whole operator (operator.Run, in process) against
// the real local control plane, through its HTTP API, the way CI pipelines
// and the acceptance scenarios do: git commits in, deploys and status out.
//
// Each test has its own namespace and operator, so tests run in parallel
// (t.Parallel). A test that changes what every test sees stays serial, and
// says why: one that installs CustomResourceDefinitions (cluster-wide, and
// the API server rebuilds discovery and OpenAPI for them) or sets the
// process's environment. Go runs the serial tests first, alone, then the
// parallel ones together, so waits are for events, with generous
// timeouts, never fixed sleeps that assume an idle machine.
package e2e
