// Package vault copies TLS certificates from HashiCorp Vault (a KV v2
// entry's `certificate` and `private_key` fields) into the
// kubernetes.io/tls Secrets that Ingresses rendered with `tls: {vault: PATH}`
// name. It reads Vault with the official client; the Secrets it returns are
// applied and pruned with the rest of the environment's objects, so they
// follow Vault's copy at every resync.
package vault
