package vault

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

// kvServer is a stand-in for Vault's KV v2 read API: GET
// /v1/<mount>/data/<path> with the X-Vault-Token header, answered the way
// Vault answers (403 with "permission denied", 404 with no errors, or the
// entry's data and version metadata). It is not Vault: only what the
// client's KVv2.Get sends and reads is implemented.
type kvServer struct {
	*httptest.Server
	mount  string
	caFile string

	mu      sync.Mutex
	token   string
	entries map[string]kvEntry
	reads   map[string]int
	tokens  []string // every token sent, to check none leaks
}

type kvEntry struct {
	data    map[string]any
	version int
}

func newKVServer(t *testing.T, token string) *kvServer {
	t.Helper()
	kv := &kvServer{mount: "secret", token: token, entries: map[string]kvEntry{}, reads: map[string]int{}}
	kv.Server = httptest.NewUnstartedServer(http.HandlerFunc(kv.serve))
	// A client that refuses the certificate is a test case, not noise.
	kv.Config.ErrorLog = log.New(io.Discard, "", 0)
	kv.StartTLS()
	t.Cleanup(kv.Close)
	kv.caFile = filepath.Join(t.TempDir(), "vault-ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kv.Certificate().Raw})
	if err := os.WriteFile(kv.caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return kv
}

func (kv *kvServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	kv.mu.Lock()
	defer kv.mu.Unlock()
	tok := r.Header.Get("X-Vault-Token")
	kv.tokens = append(kv.tokens, tok)
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

// put writes an entry as a new version.
func (kv *kvServer) put(path string, data map[string]any) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.entries[path] = kvEntry{data: data, version: kv.entries[path].version + 1}
}

func (kv *kvServer) setToken(tok string) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.token = tok
}

func (kv *kvServer) readsOf(path string) int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.reads[path]
}

// tlsPair is a generated certificate and key in PEM.
type tlsPair struct{ cert, key string }

func (p tlsPair) entry() map[string]any {
	return map[string]any{"certificate": p.cert, "private_key": p.key}
}

func newPair(t *testing.T, host string) tlsPair {
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
	return tlsPair{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}
}
