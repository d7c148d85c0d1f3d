// Package status builds what the API and the status page show of an
// environment: for each service the version it is driven to (the last
// accepted intent), its health and why, its replicas and URLs. It is pure:
// the manifest, the persisted state and the health monitor's workloads in,
// a view out, so the same answer is given wherever it is asked.
package status
