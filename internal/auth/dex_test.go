package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/dextest"
	"github.com/envop/envop/internal/testlog"
)

// dex is a running Dex (internal/dextest) with the names the tests use.
type dex struct {
	issuer string
	client *http.Client
}

type dexUser struct {
	email, password string
	groups          []string
	// unverified makes Dex say email_verified: false for this user.
	unverified bool
}

type dexClient struct{ id, secret string }

// startDex runs Dex with the users as static passwords and the clients.
func startDex(t *testing.T, users []dexUser, clients []dexClient) *dex {
	t.Helper()
	var opts dextest.Options
	for _, u := range users {
		opts.Users = append(opts.Users, dextest.User{Email: u.email, Password: u.password, Groups: u.groups, Unverified: u.unverified})
	}
	for _, c := range clients {
		opts.Clients = append(opts.Clients, dextest.Client{ID: c.id, Secret: c.secret, RedirectURIs: []string{"http://127.0.0.1/callback"}})
	}
	d := dextest.Start(t, opts)
	return &dex{issuer: d.Issuer, client: d.Client}
}

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
