package operator

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/metrics"
	"github.com/envop/envop/internal/testlog"
	"github.com/envop/envop/internal/vault/vaulttest"
)

// start serves what httpServers built until the test ends.
func start(t *testing.T, servers []httpServer) {
	t.Helper()
	for _, s := range servers {
		done := make(chan error, 1)
		go func() { done <- s.serve() }()
		t.Cleanup(func() {
			_ = s.srv.Close()
			if err := <-done; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("%s: %v", s.name, err)
			}
		})
	}
}

func writePair(t *testing.T, dir string, p vaulttest.Pair) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for name, data := range map[string]string{certFile: p.Cert, keyFile: p.Key} {
		if err := os.WriteFile(name+".new", []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

func der(t *testing.T, p vaulttest.Pair) []byte {
	t.Helper()
	block, _ := pem.Decode([]byte(p.Cert))
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	return block.Bytes
}

// TestAPIServesHTTPSAndReloadsItsCertificate: with --tls-cert-file the
// API serves HTTPS, with a new certificate once its files change, and
// counts the reload; files it cannot serve stop it from starting.
func TestAPIServesHTTPSAndReloadsItsCertificate(t *testing.T) {
	a, b := vaulttest.NewPair(t, "localhost"), vaulttest.NewPair(t, "localhost")
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, a)
	log, logs := testlog.New()
	m := metrics.New()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

	bad := Options{Listen: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: filepath.Join(dir, "missing.key"), Log: log}
	if _, err := httpServers(bad, ok, m); err == nil || !strings.Contains(err.Error(), "serving certificate") {
		t.Fatalf("httpServers with a missing key = %v, want an error", err)
	}

	opts := Options{Listen: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile, Log: log}
	servers, err := httpServers(opts, ok, m)
	if err != nil {
		t.Fatal(err)
	}
	start(t, servers)
	roots := x509.NewCertPool()
	for _, p := range []vaulttest.Pair{a, b} {
		roots.AppendCertsFromPEM([]byte(p.Cert))
	}
	// A client per request: each request is a new handshake.
	get := func() []byte {
		t.Helper()
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
		defer client.CloseIdleConnections()
		resp, err := client.Get("https://" + servers[0].ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Raw
	}
	if !bytes.Equal(get(), der(t, a)) {
		t.Fatal("the API does not serve the certificate of --tls-cert-file")
	}
	writePair(t, dir, b)
	deadline := time.Now().Add(30 * time.Second)
	for !bytes.Equal(get(), der(t, b)) {
		if time.Now().After(deadline) {
			t.Fatalf("the new certificate is not served after 30s\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := `envop_serving_certificate_reloads_total{result="success"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
}

// TestMetricsListener: with a metrics listener, /metrics is served there,
// in plain HTTP, and nothing else is.
func TestMetricsListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.ObserveSync("success", time.Second)
	api := http.NotFoundHandler()
	servers, err := httpServers(Options{Listen: "127.0.0.1:0", MetricsListener: ln}, api, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 2 || servers[1].ln != ln {
		t.Fatalf("servers = %+v, want the API's and the metrics'", servers)
	}
	start(t, servers)
	base := "http://" + ln.Addr().String()
	for path, want := range map[string]int{"/metrics": 200, "/healthz": 404, "/": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
		if path == "/metrics" && !strings.Contains(string(body), `envop_syncs_total{result="success"} 1`) {
			t.Errorf("/metrics lacks the syncs counted:\n%s", body)
		}
	}
	resp, err := http.Post(base+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", resp.StatusCode)
	}

	taken := Options{Listen: "127.0.0.1:0", MetricsListen: ln.Addr().String()}
	if _, err := httpServers(taken, api, m); err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Errorf("metrics address taken: %v, want the listen error", err)
	}
}
