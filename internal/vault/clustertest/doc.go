// Package clustertest checks the Vault TLS source against the real local
// control plane: the Secrets it makes are applied with the operator's own
// Role, survive a Vault outage, follow Vault's updates, and are pruned with
// their service. It holds tests only.
package clustertest
