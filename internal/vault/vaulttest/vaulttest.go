// Package vaulttest serves a stand-in for Vault's KV v2 read API and makes
// certificates, for the tests of the Vault TLS source. It is not Vault.
package vaulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// KV is a stand-in for Vault's KV v2 read API: GET
// /v1/<mount>/data/<path> with the X-Vault-Token header, answered the way
// Vault answers (403 with "permission denied", 404 with no errors, or the
// entry's data and version metadata). It is not Vault: only what the
// client's KVv2.Get sends and reads is implemented.
type KV struct {
	*httptest.Server
	// CAFile is a PEM file holding the server's certificate, for VAULT_CACERT.
	CAFile string
	mount  string

	mu       sync.Mutex
	token    string
	entries  map[string]kvEntry
	reads    map[string]int
	requests int
}

type kvEntry struct {
	data    map[string]any
	version int
}

// NewKV serves a KV v2 mount named "secret" over TLS that accepts only token.
func NewKV(t testing.TB, token string) *KV {
	t.Helper()
	kv := &KV{mount: "secret", token: token, entries: map[string]kvEntry{}, reads: map[string]int{}}
	kv.Server = httptest.NewUnstartedServer(http.HandlerFunc(kv.serve))
	// A client that refuses the certificate is a test case, not noise.
	kv.Config.ErrorLog = log.New(io.Discard, "", 0)
	kv.StartTLS()
	t.Cleanup(kv.Close)
	kv.CAFile = filepath.Join(t.TempDir(), "vault-ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kv.Certificate().Raw})
	if err := os.WriteFile(kv.CAFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return kv
}

func (kv *KV) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	kv.mu.Lock()
	defer kv.mu.Unlock()
	tok := r.Header.Get("X-Vault-Token")
	kv.requests++
	prefix := "/v1/" + kv.mount + "/data/"
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":["no handler for route"]}`))
		return
	}
	if tok != kv.token {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, prefix)
	kv.reads[path]++
	e, ok := kv.entries[path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[]}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"request_id": "stand-in", "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{
			"data": e.data,
			"metadata": map[string]any{"created_time": "2026-03-01T12:00:00Z", "custom_metadata": nil,
				"deletion_time": "", "destroyed": false, "version": e.version},
		},
	})
}

// Put writes an entry as a new version.
func (kv *KV) Put(path string, data map[string]any) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.entries[path] = kvEntry{data: data, version: kv.entries[path].version + 1}
}

// Requests is how many requests reached the server.
func (kv *KV) Requests() int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.requests
}

// SetToken changes the token accepted.
func (kv *KV) SetToken(tok string) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.token = tok
}

// Reads is how many times the entry at path was served.
func (kv *KV) Reads(path string) int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.reads[path]
}

// Pair is a generated self-signed certificate for a host and its key, in PEM.
type Pair struct{ Cert, Key string }

// Entry is the KV data holding p the way the operator reads it.
func (p Pair) Entry() map[string]any {
	return map[string]any{"certificate": p.Cert, "private_key": p.Key}
}

// NewPair generates a P-256 certificate for host, valid for 90 days.
func NewPair(t testing.TB, host string) Pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Pair{
		Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}
}
