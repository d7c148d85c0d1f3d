// Package tlsreload serves a certificate from files that change while the
// server runs (cert-manager renewals, Secret volumes the kubelet updates):
// each TLS handshake gets the newest key pair that loaded, and a bad
// replacement leaves the last good one in place.
package tlsreload
