// Package metrics defines the operator's Prometheus metrics, all prefixed
// envop_, on a registry of their own so tests can read them in isolation.
package metrics
