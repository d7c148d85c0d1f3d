// Package plan holds the version plan: which version each workload runs
// and which colour serves traffic, from the environment's file and the
// services' stored state. The latest intent wins (docs/operator.md).
//
// It does no I/O: the operator's sync and resync, and every diff of a file
// (envop diff, POST /diff), call the same Make, so a diff shows what a
// sync does.
package plan
