package dextest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/envop/envop/internal/testlog"
)

// BinDirEnv names the directory holding the dex binary built by
// hack/dex/build.sh. Without it the script is asked where its cache is.
const BinDirEnv = "ENVOP_DEX_BIN"

// User is a static password user; Dex puts Groups in the groups claim.
type User struct {
	Email, Password string
	Groups          []string
	// Unverified makes Dex say email_verified: false for this user, as
	// providers do where users edit their own address.
	Unverified bool
}

// Client is an OAuth2 client. A public client has no secret and signs
// people in with PKCE, as a page in a browser does.
type Client struct {
	ID, Secret   string
	Public       bool
	RedirectURIs []string
}

// Options are what the test needs of Dex.
type Options struct {
	Users   []User
	Clients []Client
	// AllowedOrigins may call Dex's discovery, token and keys endpoints
	// from a browser (CORS).
	AllowedOrigins []string
}

// Dex is a running Dex.
type Dex struct {
	// Issuer is Dex's issuer URL (https, loopback).
	Issuer string
	// Client is an HTTP client that trusts Dex's certificate.
	Client *http.Client
	// Cert is Dex's serving certificate.
	Cert *x509.Certificate
	// Log is what Dex logged; it is shown when the test fails.
	Log *testlog.Buffer
}

// Start runs Dex until the test ends, retrying when another process takes
// the free port first.
func Start(t testing.TB, opts Options) *Dex {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 3 {
		d, err := start(t, bin, opts)
		if err == nil {
			return d
		}
		lastErr = err
	}
	t.Fatalf("start Dex: %v", lastErr)
	return nil
}

// binary finds the Dex binary and fails loudly without it.
func binary() (string, error) {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		out, err := exec.Command("bash", filepath.Join(root, "hack/dex/build.sh"), "--print-dir").Output()
		if err != nil {
			return "", fmt.Errorf("ask hack/dex/build.sh where Dex is: %w (or set %s)", err, BinDirEnv)
		}
		dir = strings.TrimSpace(string(out))
	}
	bin := filepath.Join(dir, "dex")
	if _, err := os.Stat(bin); err != nil {
		hint := "run `make dex` (about 8 minutes cold, needs gcc), then rerun the tests"
		if os.Getenv("CI") == "true" {
			hint = "the CI job must build Dex (`make dex`) and set " + BinDirEnv + " before the tests"
		}
		return "", fmt.Errorf("Dex binary missing at %s: %s", bin, hint)
	}
	return bin, nil
}

// repoRoot walks up from the working directory to the one holding
// hack/dex/build.sh.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack/dex/build.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no hack/dex/build.sh above the working directory; set %s", BinDirEnv)
		}
		dir = parent
	}
}

func start(t testing.TB, bin string, opts Options) (*Dex, error) {
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cert, certFile, keyFile, err := writeServerCert(dir)
	if err != nil {
		return nil, err
	}
	issuer := "https://" + addr + "/dex"
	configFile := filepath.Join(dir, "dex.yaml")
	if err := writeConfig(configFile, issuer, addr, certFile, keyFile, opts); err != nil {
		return nil, err
	}

	log := &testlog.Buffer{}
	cmd := exec.Command(bin, "serve", configFile)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	d := &Dex{Issuer: issuer, Cert: cert, Log: log, Client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}}
	if err := d.waitReady(exited); err != nil {
		stop()
		return nil, fmt.Errorf("%w\nDex log:\n%s", err, log.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("Dex log:\n%s", log.Tail(40))
		}
	})
	return d, nil
}

// writeConfig writes Dex's configuration: JSON, which Dex reads as YAML.
func writeConfig(file, issuer, addr, certFile, keyFile string, opts Options) error {
	var passwords []map[string]any
	for i, u := range opts.Users {
		hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		passwords = append(passwords, map[string]any{
			"email": u.Email, "hash": string(hash), "username": strings.Split(u.Email, "@")[0],
			"userID": fmt.Sprintf("user-%d", i), "groups": u.Groups, "emailVerified": !u.Unverified,
		})
	}
	var clients []map[string]any
	for _, c := range opts.Clients {
		clients = append(clients, map[string]any{
			"id": c.ID, "secret": c.Secret, "public": c.Public, "name": c.ID, "redirectURIs": c.RedirectURIs,
		})
	}
	config, err := json.Marshal(map[string]any{
		"issuer":  issuer,
		"storage": map[string]any{"type": "memory"},
		"web": map[string]any{"https": addr, "tlsCert": certFile, "tlsKey": keyFile,
			"allowedOrigins": opts.AllowedOrigins},
		"logger":           map[string]any{"level": "info", "format": "json"},
		"oauth2":           map[string]any{"passwordConnector": "local", "skipApprovalScreen": true},
		"expiry":           map[string]any{"idTokens": "1h"},
		"enablePasswordDB": true,
		"staticPasswords":  passwords,
		"staticClients":    clients,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(file, config, 0o600)
}

func (d *Dex) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("dex exited before serving")
		default:
		}
		resp, err := d.Client.Get(d.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("dex not ready within 30s")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// writeServerCert writes a self-signed certificate for 127.0.0.1 and its
// key to dir.
func writeServerCert(dir string) (*x509.Certificate, string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, "", "", err
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, "", "", err
	}
	return cert, certFile, keyFile, nil
}
