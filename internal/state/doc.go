// Package state keeps what the operator must not forget across restarts:
// for each service the version it is driven to and where that intent came
// from (a git commit or an API deploy, who and when), the version git last
// gave it, the active blue/green colour, and a bounded history of deploys.
//
// It lives in ConfigMaps in the operator's namespace (one per service, so a
// large environment never meets the 1 MiB object limit), written with
// optimistic concurrency. These ConfigMaps carry their own label and never
// the managed-by label that pruning selects on.
package state
