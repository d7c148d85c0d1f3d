package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envop/envop/internal/testlog"

	"golang.org/x/crypto/bcrypt"
)

// dexBinDirEnv names the directory holding the dex binary built by
// hack/dex/build.sh. Without it the test asks the script where its cache is.
const dexBinDirEnv = "ENVOP_DEX_BIN"

// dexBinary finds the Dex binary. A missing binary fails the test, in CI and
// locally alike: the real-provider test never silently skips.
func dexBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(dexBinDirEnv)
	if dir == "" {
		script, err := filepath.Abs("../../hack/dex/build.sh")
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("bash", script, "--print-dir").Output()
		if err != nil {
			t.Fatalf("ask hack/dex/build.sh where Dex is: %v (or set %s)", err, dexBinDirEnv)
		}
		dir = strings.TrimSpace(string(out))
	}
	bin := filepath.Join(dir, "dex")
	if _, err := os.Stat(bin); err != nil {
		hint := "run `bash hack/dex/build.sh` (about 8 minutes cold, needs gcc), then rerun the tests"
		if os.Getenv("CI") == "true" {
			hint = "the CI job must build Dex (`bash hack/dex/build.sh`) and set " + dexBinDirEnv + " before the tests"
		}
		t.Fatalf("Dex binary missing at %s: %s", bin, hint)
	}
	return bin
}

// dex is a running Dex: issuer URL, an HTTP client that trusts its CA, and
// its log for failures.
type dex struct {
	issuer string
	client *http.Client
	log    *testlog.Buffer
}

type dexUser struct {
	email, password string
	groups          []string
	// unverified makes Dex say email_verified: false for this user, as
	// providers do where users edit their own address.
	unverified bool
}

type dexClient struct{ id, secret string }

// startDex runs Dex on a free loopback port over TLS with a generated CA,
// in-memory storage, the users as static passwords (with their groups) and
// the clients, the password grant going to the local password database.
func startDex(t *testing.T, users []dexUser, clients []dexClient) *dex {
	t.Helper()
	bin := dexBinary(t)
	var lastErr error
	for range 3 { // a free port can be taken before Dex binds it
		d, err := tryStartDex(t, bin, users, clients)
		if err == nil {
			return d
		}
		lastErr = err
	}
	t.Fatalf("start Dex: %v", lastErr)
	return nil
}

func tryStartDex(t *testing.T, bin string, users []dexUser, clients []dexClient) (*dex, error) {
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pool, certFile, keyFile := writeServerCert(t, dir)
	issuer := "https://" + addr + "/dex"

	var passwords []map[string]any
	for i, u := range users {
		hash, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		passwords = append(passwords, map[string]any{
			"email": u.email, "hash": string(hash), "username": strings.Split(u.email, "@")[0],
			"userID": fmt.Sprintf("user-%d", i), "groups": u.groups, "emailVerified": !u.unverified,
		})
	}
	var static []map[string]any
	for _, c := range clients {
		static = append(static, map[string]any{
			"id": c.id, "secret": c.secret, "name": c.id, "redirectURIs": []string{"http://127.0.0.1/callback"},
		})
	}
	// Dex reads YAML; JSON is YAML.
	config, err := json.Marshal(map[string]any{
		"issuer":           issuer,
		"storage":          map[string]any{"type": "memory"},
		"web":              map[string]any{"https": addr, "tlsCert": certFile, "tlsKey": keyFile},
		"logger":           map[string]any{"level": "info", "format": "json"},
		"oauth2":           map[string]any{"passwordConnector": "local", "skipApprovalScreen": true},
		"expiry":           map[string]any{"idTokens": "1h"},
		"enablePasswordDB": true,
		"staticPasswords":  passwords,
		"staticClients":    static,
	})
	if err != nil {
		return nil, err
	}
	configFile := filepath.Join(dir, "dex.yaml")
	if err := os.WriteFile(configFile, config, 0o600); err != nil {
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
	d := &dex{issuer: issuer, log: log, client: &http.Client{
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
			t.Logf("Dex log:\n%s", log.String())
		}
	})
	return d, nil
}

func (d *dex) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("dex exited before serving")
		default:
		}
		resp, err := d.client.Get(d.issuer + "/.well-known/openid-configuration")
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

// idToken gets an ID token for the user with the password grant.
func (d *dex) idToken(t *testing.T, c dexClient, u dexUser) string {
	t.Helper()
	form := url.Values{
		"grant_type": {"password"},
		"username":   {u.email},
		"password":   {u.password},
		"scope":      {"openid email profile groups"},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, d.issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("password grant for %s: %s: %s", u.email, resp.Status, body)
	}
	var tr struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.IDToken == "" {
		t.Fatalf("password grant: no id_token in %s (%v)", body, err)
	}
	return tr.IDToken
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeServerCert makes a CA and a certificate for 127.0.0.1 signed by it,
// writes the certificate and key to dir, and returns a pool trusting the CA.
func writeServerCert(t *testing.T, dir string) (*x509.CertPool, string, string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "envop test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(err)
	ca, err := x509.ParseCertificate(caDER)
	must(err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	must(err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	must(err)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	must(os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, certFile, keyFile
}

// TestDex checks OIDC against a real provider: Dex with static passwords
// carrying groups and ID tokens from the password grant.
func TestDex(t *testing.T) {
	alice := dexUser{email: "alice@example.com", password: "alice-pass-1", groups: []string{"devs", "release"}}
	bob := dexUser{email: "bob@example.com", password: "bob-pass-1", groups: []string{"sales"}}
	carol := dexUser{email: "carol@example.com", password: "carol-pass-1", groups: []string{"devs"}}
	// dave's address was never verified: an admin rule naming it must not
	// apply to him (whoever typed it into their profile).
	dave := dexUser{email: "dave@example.com", password: "dave-pass-1", groups: []string{"devs"}, unverified: true}
	envop := dexClient{id: "envop", secret: "envop-client-secret"}
	other := dexClient{id: "other-app", secret: "other-client-secret"}
	d := startDex(t, []dexUser{alice, bob, carol, dave}, []dexClient{envop, other})

	clock := newFakeClock()
	log, logs := testlog.New()
	rules := []AccessRule{{Group: "release", Role: RoleAdmin}, {User: "bob@example.com", Role: RoleAdmin}, {User: dave.email, Role: RoleAdmin}}
	a, err := New(t.Context(), Options{
		OIDCIssuerURL:     d.issuer,
		OIDCClientID:      envop.id,
		OIDCAllowedGroups: []GroupRule{{Group: "devs"}},
		Access:            func() []AccessRule { return rules },
		HTTPClient:        d.client,
		Log:               log,
		Now:               clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	authn := func(tok string) (Principal, error) {
		return a.Authenticate(request("192.0.2.1:1", "Bearer "+tok))
	}

	aliceTok := d.idToken(t, envop, alice)
	p, err := authn(aliceTok)
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	if p.Name != alice.email || p.Email != alice.email || grantsString(p.Grants) != "admin:*" || p.Method != MethodOIDC || p.Subject == "" {
		t.Errorf("alice: %+v, want admin through the release group rule", p)
	}
	if strings.Join(p.Groups, ",") != "devs,release" {
		t.Errorf("alice's groups = %v", p.Groups)
	}

	if p, err := authn(d.idToken(t, envop, carol)); err != nil || grantsString(p.Grants) != "deploy:*" {
		t.Errorf("carol (allowed group, no rule): %+v, %v; want deploy", p, err)
	}
	p, err = authn(d.idToken(t, envop, dave))
	if err != nil {
		t.Fatalf("dave: %v", err)
	}
	if p.Email != "" || p.Name != d.issuer+"#"+p.Subject || p.Subject == "" || grantsString(p.Grants) != "deploy:*" {
		t.Errorf("dave (unverified email): %+v, want named issuer#subject, no email, deploy by his group and not admin by the email rule", p)
	}
	// bob has an admin rule but is outside the allowed groups.
	if _, err := authn(d.idToken(t, envop, bob)); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob: err = %v, want ErrForbidden", err)
	}
	if _, err := authn(d.idToken(t, other, alice)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("token for another client: err = %v, want ErrUnauthenticated", err)
	}
	parts := strings.Split(aliceTok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	if _, err := authn(parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("bad signature: err = %v, want ErrUnauthenticated", err)
	}
	if !strings.Contains(logs.String(), "failed to verify") {
		t.Errorf("the tampered token was not rejected for its signature:\n%s", logs.String())
	}
	bobParts := strings.Split(d.idToken(t, envop, bob), ".")
	if _, err := authn(parts[0] + "." + bobParts[1] + "." + parts[2]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("payload swapped under another signature: err = %v, want ErrUnauthenticated", err)
	}

	clock.Advance(2 * time.Hour) // Dex issues ID tokens for 1h
	if _, err := authn(aliceTok); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: err = %v, want ErrUnauthenticated (token expired)", err)
	}
	if strings.Contains(logs.String(), parts[2]) {
		t.Errorf("a token signature appears in the log")
	}
}
