package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/testlog"
)

func newOIDCAuth(t *testing.T, iss *testIssuer, clock *fakeClock, mod func(*Options)) (*Authenticator, *testlog.Buffer) {
	t.Helper()
	log, buf := testlog.New()
	o := Options{
		OIDCIssuerURL: iss.URL(),
		OIDCClientID:  "envop",
		HTTPClient:    iss.srv.Client(),
		Log:           log,
		Now:           clock.Now,
	}
	if mod != nil {
		mod(&o)
	}
	a, err := New(t.Context(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a, buf
}

func TestOIDCMatrix(t *testing.T) {
	iss := newTestIssuer(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	rules := []AccessRule{}
	allowDevs := func(o *Options) {
		o.OIDCAllowedGroups = []GroupRule{{Group: "devs"}, {Group: "ops"}}
		o.Access = func() []AccessRule { return rules }
	}
	a, logs := newOIDCAuth(t, iss, clock, allowDevs)
	noGroups, _ := newOIDCAuth(t, iss, clock, func(o *Options) { o.Access = func() []AccessRule { return rules } })
	scoped, _ := newOIDCAuth(t, iss, clock, func(o *Options) {
		o.OIDCAllowedGroups = []GroupRule{{Group: "devs", Scope: ScopeOf("web")}, {Group: "everyone", Scope: ScopeOf("worker", "api")}, {Group: "sales"}}
		o.Access = func() []AccessRule { return rules }
	})
	customClaim, _ := newOIDCAuth(t, iss, clock, func(o *Options) { o.OIDCAllowedGroups = []GroupRule{{Group: "ops"}}; o.GroupsClaim = "roles" })

	set := func(kv ...any) func(map[string]any) {
		return func(c map[string]any) {
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(c, kv[i].(string))
				} else {
					c[kv[i].(string)] = kv[i+1]
				}
			}
		}
	}
	tamper := func(tok string) string {
		parts := strings.Split(tok, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = []byte(strings.Replace(string(payload), `"user-123"`, `"root-000"`, 1))
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	}
	none := func(tok string) string {
		parts := strings.Split(tok, ".")
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	}

	now := clock.Now()
	tests := []struct {
		name    string
		auth    *Authenticator
		rules   []AccessRule
		claims  func(map[string]any)
		key     *rsa.PrivateKey
		mangle  func(string) string
		want    who
		wantErr error
		errText string
	}{
		{name: "allowed group, no rule: deploy", want: who{"alice@example.com", "deploy:*"}},
		{name: "group rule gives admin", rules: []AccessRule{{Group: "everyone", Role: RoleAdmin}}, want: who{"alice@example.com", "admin:*"}},
		{name: "every matching rule grants", rules: []AccessRule{{Group: "devs", Role: RoleView}, {User: "ALICE@example.com", Role: RoleAdmin}, {Group: "x", Role: RoleAdmin}},
			want: who{"alice@example.com", "view:* admin:*"}},
		{name: "rules scope services", rules: []AccessRule{{Group: "devs", Role: RoleView}, {Group: "everyone", Role: RoleDeploy, Scope: ScopeOf("web", "api")}},
			want: who{"alice@example.com", "view:* deploy:api,web"}},
		{name: "a rule can narrow to view", rules: []AccessRule{{Group: "devs", Role: RoleView}}, want: who{"alice@example.com", "view:*"}},
		{name: "groups claim as a string", claims: set("groups", "ops"), want: who{"alice@example.com", "deploy:*"}},
		{name: "not in an allowed group", claims: set("groups", []string{"sales"}), wantErr: ErrForbidden},
		{name: "no groups claim", claims: set("groups", nil), wantErr: ErrForbidden},
		{name: "rule alone does not pass the group gate", rules: []AccessRule{{User: "alice@example.com", Role: RoleAdmin}}, claims: set("groups", nil), wantErr: ErrForbidden},
		{name: "wrong audience", claims: set("aud", "other-client"), wantErr: ErrUnauthenticated, errText: "invalid token"},
		{name: "wrong issuer", claims: set("iss", "https://evil.example.com"), wantErr: ErrUnauthenticated},
		{name: "expired", claims: set("exp", now.Add(-time.Minute).Unix()), wantErr: ErrUnauthenticated, errText: "token expired"},
		{name: "signed by another key", key: otherKey, wantErr: ErrUnauthenticated},
		{name: "tampered payload", mangle: tamper, wantErr: ErrUnauthenticated},
		{name: "alg none", mangle: none, wantErr: ErrUnauthenticated},

		{name: "no allowed groups: user rule by subject", auth: noGroups, rules: []AccessRule{{User: "user-123", Role: RoleView}},
			want: who{"alice@example.com", "view:*"}},
		{name: "no allowed groups, no rule: forbidden", auth: noGroups, rules: []AccessRule{{Group: "ops", Role: RoleAdmin}}, wantErr: ErrForbidden},
		{name: "unverified email names nobody", auth: noGroups, rules: []AccessRule{{User: "alice@example.com", Role: RoleAdmin}},
			claims: set("email_verified", false), wantErr: ErrForbidden},
		{name: "no email: named by issuer and subject", auth: noGroups, rules: []AccessRule{{Group: "devs", Role: RoleDeploy}}, claims: set("email", nil),
			want: who{iss.URL() + "#user-123", "deploy:*"}},
		{name: "email_verified absent: named by subject", auth: noGroups, rules: []AccessRule{{Group: "devs", Role: RoleDeploy}}, claims: set("email_verified", nil),
			want: who{iss.URL() + "#user-123", "deploy:*"}},
		{name: "email_verified absent: no email rule matches", auth: noGroups, rules: []AccessRule{{User: "alice@example.com", Role: RoleAdmin}},
			claims: set("email_verified", nil), wantErr: ErrForbidden},
		{name: "user rule by issuer#subject", auth: noGroups, rules: []AccessRule{{User: iss.URL() + "#user-123", Role: RoleView}}, claims: set("email_verified", false),
			want: who{iss.URL() + "#user-123", "view:*"}},

		{name: "scoped allowed group caps the rules", auth: scoped, rules: []AccessRule{{Group: "devs", Role: RoleAdmin}, {Group: "everyone", Role: RoleView, Scope: ScopeOf("api", "db")}},
			want: who{"alice@example.com", "admin:api,web,worker view:api"}},
		{name: "scoped allowed group, no rule: deploy within it", auth: scoped, want: who{"alice@example.com", "deploy:api,web,worker"}},
		{name: "scoped allowed group, rules outside it", auth: scoped, rules: []AccessRule{{Group: "devs", Role: RoleAdmin, Scope: ScopeOf("db")}}, wantErr: ErrForbidden},
		{name: "custom groups claim", auth: customClaim, claims: set("roles", []string{"ops"}), want: who{"alice@example.com", "deploy:*"}},
		{name: "custom claim ignores groups", auth: customClaim, claims: set("groups", []string{"ops"}), wantErr: ErrForbidden},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules = tt.rules
			auth := tt.auth
			if auth == nil {
				auth = a
			}
			c := iss.claims(now)
			if tt.claims != nil {
				tt.claims(c)
			}
			tok := iss.sign(t, c, tt.key)
			if tt.mangle != nil {
				tok = tt.mangle(tok)
			}
			// A fresh address per case: the failures here must not add up.
			p, err := auth.Authenticate(request(fmt.Sprintf("192.0.2.%d:1", i+1), "Bearer "+tok))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				if strings.Contains(err.Error(), tok) {
					t.Fatal("token in error")
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got := (who{p.Name, grantsString(p.Grants)}); got != tt.want || p.Method != MethodOIDC || p.Subject != "user-123" {
				t.Fatalf("principal %+v, want %+v", p, tt.want)
			}
		})
	}
	if strings.Contains(logs.String(), "eyJ") {
		t.Errorf("a token appears in the log:\n%s", logs.String())
	}
}

func TestOIDCExpiryUsesClock(t *testing.T) {
	iss := newTestIssuer(t)
	clock := newFakeClock()
	a, _ := newOIDCAuth(t, iss, clock, func(o *Options) { o.OIDCAllowedGroups = []GroupRule{{Group: "devs"}} })
	tok := iss.sign(t, iss.claims(clock.Now()), nil)
	if _, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+tok)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if _, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+tok)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("two hours later: err = %v, want ErrUnauthenticated", err)
	}
}

func TestOIDCIssuerDownAtStartup(t *testing.T) {
	iss := newTestIssuer(t)
	iss.down.Store(true)
	clock := newFakeClock()
	a, logs := newOIDCAuth(t, iss, clock, func(o *Options) { o.OIDCAllowedGroups = []GroupRule{{Group: "devs"}} })
	if !strings.Contains(logs.String(), "OIDC discovery failed") {
		t.Errorf("startup failure not logged:\n%s", logs.String())
	}
	tok := iss.sign(t, iss.claims(clock.Now()), nil)
	auth := func() error {
		_, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+tok))
		return err
	}
	if err := auth(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("issuer down: err = %v, want ErrUnavailable", err)
	}
	// Within the back-off, requests do not hammer the issuer.
	before := iss.hits.Load()
	for range 20 {
		if err := auth(); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if iss.hits.Load() != before {
		t.Errorf("discovery retried within the back-off (%d requests)", iss.hits.Load()-before)
	}
	iss.down.Store(false)
	clock.Advance(time.Minute)
	if err := auth(); err != nil {
		t.Fatalf("after the issuer came back: %v", err)
	}
	// Discovery and keys are cached: more verifications cost no request.
	before = iss.hits.Load()
	for range 20 {
		if err := auth(); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.hits.Load() - before; n != 0 {
		t.Errorf("%d requests to the issuer for cached verifications", n)
	}
	// An unavailable issuer is not the client's fault: no rate limiting.
	if _, blocked := a.limiter.blocked("192.0.2.1", tokenPrint{}, clock.Now()); blocked {
		t.Error("unavailability counted as failed authentication")
	}
}

func TestOIDCStaticTokensStillWork(t *testing.T) {
	iss := newTestIssuer(t)
	path := writeFile(t, t.TempDir(), "tokens", tokA+" ci view\n")
	a, _ := newOIDCAuth(t, iss, newFakeClock(), func(o *Options) { o.TokenFile = path; o.OIDCAllowedGroups = []GroupRule{{Group: "devs"}} })
	if p, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+tokA)); err != nil || p.Method != MethodToken || p.Role() != RoleView {
		t.Fatalf("static token with OIDC on: %+v, %v", p, err)
	}
	tok := iss.sign(t, iss.claims(time.Now()), nil)
	p, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+tok))
	if err != nil || p.Method != MethodOIDC || !slices.Equal(p.Groups, []string{"devs", "everyone"}) || p.Email != "alice@example.com" {
		t.Fatalf("OIDC token: %+v, %v", p, err)
	}
}

// who is a principal as the tests compare it.
type who struct{ name, grants string }

// grantsString writes grants as "role:scope" words.
func grantsString(grants []Grant) string {
	var out []string
	for _, g := range grants {
		out = append(out, string(g.Role)+":"+g.Scope.String())
	}
	return strings.Join(out, " ")
}

func TestParseGroupRules(t *testing.T) {
	rules, err := ParseGroupRules(" platform , team-web=web+web-worker,org:team=api ,")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.Group+"="+r.Scope.String())
	}
	if want := "platform=* team-web=web,web-worker org:team=api"; strings.Join(got, " ") != want {
		t.Errorf("rules = %q, want %q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{"=web", "team=", "team=Web", "team=web+", "team=*+web"} {
		if _, err := ParseGroupRules(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
