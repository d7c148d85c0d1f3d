package tlsreload

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/testlog"
)

// pair is a self-signed certificate for 127.0.0.1 and its key, in PEM.
type pair struct {
	name      string
	cert, key []byte
	x509      *x509.Certificate
}

func newPair(t *testing.T, name string) pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
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
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pair{
		name: name, x509: leaf,
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}
}

// secretVolume lays files out as the kubelet does for a Secret volume:
// NAME -> ..data/NAME, ..data -> a timestamped directory holding the files.
type secretVolume struct {
	t       *testing.T
	dir     string
	version int
}

func newSecretVolume(t *testing.T, cert, key []byte) *secretVolume {
	v := &secretVolume{t: t, dir: t.TempDir()}
	v.update(cert, key)
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(v.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// update writes a new directory and swaps ..data to it in one rename, then
// removes the old directory, as the kubelet's atomic writer does.
func (v *secretVolume) update(cert, key []byte) {
	t := v.t
	t.Helper()
	v.version++
	ts := fmt.Sprintf("..v%d", v.version)
	if err := os.Mkdir(filepath.Join(v.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": cert, "tls.key": key} {
		if err := os.WriteFile(filepath.Join(v.dir, ts, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(v.dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(v.dir, "..data_tmp"), filepath.Join(v.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if v.version > 1 {
		if err := os.RemoveAll(filepath.Join(v.dir, fmt.Sprintf("..v%d", v.version-1))); err != nil {
			t.Fatal(err)
		}
	}
}

func (v *secretVolume) files() (string, string) {
	return filepath.Join(v.dir, "tls.crt"), filepath.Join(v.dir, "tls.key")
}

// replace writes new files beside the old ones and renames them over the
// old names, the cert first, as a tool writing plain files would.
func replace(t *testing.T, certFile, keyFile string, cert, key []byte) {
	t.Helper()
	for name, data := range map[string][]byte{certFile: cert, keyFile: key} {
		if err := os.WriteFile(name+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
	}
}

// server serves TLS with the reloader; every connection it accepts ends
// after the handshake.
func server(t *testing.T, r *Reloader) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).HandshakeContext(t.Context())
			c.Close()
		}
	})
	return ln.Addr().String()
}

// served connects, verifying the server against every pair given, and
// returns the common name of the certificate it saw.
func served(t *testing.T, addr string, trusted ...pair) string {
	t.Helper()
	cn, err := handshake(addr, trusted...)
	if err != nil {
		t.Fatal(err)
	}
	return cn
}

func handshake(addr string, trusted ...pair) (string, error) {
	roots := x509.NewCertPool()
	for _, p := range trusted {
		roots.AddCert(p.x509)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return "", fmt.Errorf("handshake: %w", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// eventually retries cond for at most 10 seconds, far above the intervals
// the tests set.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within 10s (last: %s)", what, last)
}

// reloads records what each attempt to load changed files gave.
type reloads struct {
	mu   sync.Mutex
	errs []error
}

func (r *reloads) add(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }

func (r *reloads) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func TestReloadsASecretVolume(t *testing.T) {
	a, b, c := newPair(t, "a"), newPair(t, "b"), newPair(t, "c")
	vol := newSecretVolume(t, a.cert, a.key)
	certFile, keyFile := vol.files()
	log, logs := testlog.New()
	var got reloads
	r, err := New(Options{CertFile: certFile, KeyFile: keyFile, Interval: 10 * time.Millisecond, Log: log, Reloaded: got.add})
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	if cn := served(t, addr, a, b, c); cn != "a" {
		t.Fatalf("served %q, want a", cn)
	}

	vol.update(b.cert, b.key)
	eventually(t, "b served after the ..data swap", func() (bool, string) {
		cn := served(t, addr, a, b, c)
		return cn == "b", cn
	})

	// A broken update: c's certificate with b's key. b stays, and the
	// failure is reported once however many handshakes follow.
	vol.update(c.cert, b.key)
	eventually(t, "the broken pair tried", func() (bool, string) {
		served(t, addr, a, b, c) // the files are looked at on handshakes
		errs := got.get()
		return len(errs) == 2 && errs[1] != nil, fmt.Sprint(errs)
	})
	for range 5 {
		if cn := served(t, addr, a, b, c); cn != "b" {
			t.Fatalf("served %q after a broken update, want b kept", cn)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "serving certificate not reloaded"); n != 1 {
		t.Errorf("the broken pair logged %d times, want once:\n%s", n, logs)
	}

	vol.update(c.cert, c.key)
	eventually(t, "c served once the pair matches", func() (bool, string) {
		cn := served(t, addr, a, b, c)
		return cn == "c", cn
	})
	if errs := got.get(); len(errs) != 3 || errs[0] != nil || errs[2] != nil {
		t.Errorf("reloads = %v, want success, failure, success", errs)
	}
	for _, p := range []pair{a, b, c} {
		if strings.Contains(logs.String(), strings.TrimSpace(string(p.key))[40:80]) {
			t.Fatal("a private key reached the log")
		}
	}
}

func TestReloadsRenamedFiles(t *testing.T) {
	a, b := newPair(t, "a"), newPair(t, "b")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	replace(t, certFile, keyFile, a.cert, a.key)
	r, err := New(Options{CertFile: certFile, KeyFile: keyFile, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	if cn := served(t, addr, a, b); cn != "a" {
		t.Fatalf("served %q, want a", cn)
	}
	replace(t, certFile, keyFile, b.cert, b.key)
	eventually(t, "b served after the rename", func() (bool, string) {
		cn := served(t, addr, a, b)
		return cn == "b", cn
	})
}

// TestMissingFilesKeepTheLastPair: files gone for a while (a volume being
// remounted) leave the pair served, are reported once, and are loaded
// again when they come back changed.
func TestMissingFilesKeepTheLastPair(t *testing.T) {
	a, b := newPair(t, "a"), newPair(t, "b")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	replace(t, certFile, keyFile, a.cert, a.key)
	log, logs := testlog.New()
	r, err := New(Options{CertFile: certFile, KeyFile: keyFile, Interval: 10 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	eventually(t, "missing key reported", func() (bool, string) {
		served(t, addr, a, b)
		return strings.Contains(logs.String(), "serving certificate files unreadable"), logs.Tail(1)
	})
	for range 5 {
		if cn := served(t, addr, a, b); cn != "a" {
			t.Fatalf("served %q without the files, want a kept", cn)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "serving certificate files unreadable"); n != 1 {
		t.Errorf("missing files logged %d times, want once", n)
	}
	replace(t, certFile, keyFile, b.cert, b.key)
	eventually(t, "b served once the files are back", func() (bool, string) {
		cn := served(t, addr, a, b)
		return cn == "b", cn
	})
}

func TestNewRefusesFilesItCannotServe(t *testing.T) {
	a, b := newPair(t, "a"), newPair(t, "b")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tt := range []struct {
		name, cert, key, want string
	}{
		{"missing cert", filepath.Join(dir, "none.crt"), write("a.key", a.key), "none.crt"},
		{"missing key", write("a.crt", a.cert), filepath.Join(dir, "none.key"), "none.key"},
		{"mismatched", write("a.crt", a.cert), write("b.key", b.key), "private key does not match"},
		{"not PEM", write("junk.crt", []byte("junk")), write("a.key", a.key), "load key pair"},
		{"too large", write("big.crt", make([]byte, maxFileSize+1)), write("a.key", a.key), "larger than 1 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{CertFile: tt.cert, KeyFile: tt.key})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error saying %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error shows the key: %v", err)
			}
		})
	}
	if _, err := New(Options{CertFile: filepath.Join(dir, "none"), KeyFile: filepath.Join(dir, "none")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing files: %v, want os.ErrNotExist", err)
	}
}

// TestConcurrentHandshakes: handshakes racing with a reload each see one
// whole pair (run with -race).
func TestConcurrentHandshakes(t *testing.T) {
	a, b := newPair(t, "a"), newPair(t, "b")
	vol := newSecretVolume(t, a.cert, a.key)
	certFile, keyFile := vol.files()
	r, err := New(Options{CertFile: certFile, KeyFile: keyFile, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if cn, err := handshake(addr, a, b); err != nil || (cn != "a" && cn != "b") {
					t.Errorf("served %q, %v", cn, err)
				}
			}
		})
	}
	vol.update(b.cert, b.key)
	wg.Wait()
	eventually(t, "b served", func() (bool, string) {
		cn := served(t, addr, a, b)
		return cn == "b", cn
	})
}
