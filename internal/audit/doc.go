// Package audit records who changed what: one record per mutating API call
// and per sync that changes something, as a JSON log line, a Kubernetes
// Event and an entry in a bounded store in the namespace that survives
// restarts.
//
// Records about one service are written with that service's state, in the
// same write as the deploy they describe, so an accepted deploy and its
// record never exist one without the other. Records about the environment
// (syncs) live in ConfigMaps of their own, in segments: a record is
// appended to the newest, and whole segments go, oldest first, as the
// Retention allows.
package audit
