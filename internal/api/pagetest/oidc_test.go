package pagetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/dextest"
)

// pageClient is the status page's client at the identity provider: public
// (no secret), its redirect URI the page itself.
const pageClient = "envop-status-page"

// oncall may read the environment: the API allows its group; sales may
// sign in at the provider, but the API refuses its group.
var (
	oncall = dextest.User{Email: "oncall@example.com", Password: "oncall-pass-7f3a9c", Groups: []string{"oncall"}}
	sales  = dextest.User{Email: "sales@example.com", Password: "sales-pass-2b8e41", Groups: []string{"sales"}}
)

// serveWithDex runs a real Dex and the real API over b with OIDC sign-in
// against it, and returns the page's origin and Dex. Dex must know the
// page's origin (redirect URI, CORS) before the API can know Dex's issuer,
// so the page's listener is taken first.
func serveWithDex(t *testing.T, b *backend) (string, *dextest.Dex) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	origin := "http://" + srv.Listener.Addr().String()
	d := dextest.Start(t, dextest.Options{
		Users:          []dextest.User{oncall, sales},
		Clients:        []dextest.Client{{ID: pageClient, Public: true, RedirectURIs: []string{origin + "/"}}},
		AllowedOrigins: []string{origin},
	})
	authn, err := auth.New(t.Context(), auth.Options{
		OIDCIssuerURL: d.Issuer, OIDCClientID: pageClient, OIDCAllowedGroups: []auth.GroupRule{{Group: "oncall"}}, HTTPClient: d.Client,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(authn.Close)
	srv.Config.Handler = api.New(api.Options{Backend: b, Auth: authn, SignIn: api.SignIn{Issuer: d.Issuer, ClientID: pageClient}})
	srv.Start()
	return origin, d
}

// trusting is the Chromium flag that trusts Dex's certificate (its key),
// and no other certificate error.
func trusting(d *dextest.Dex) string {
	sum := sha256.Sum256(d.Cert.RawSubjectPublicKeyInfo)
	return "--ignore-certificate-errors-spki-list=" + base64.StdEncoding.EncodeToString(sum[:])
}

// logInAtDex waits for Dex's login form and fills it in as u.
func logInAtDex(tab *tab, d *dextest.Dex, u dextest.User) {
	tab.t.Helper()
	tab.waitFor("at Dex's login form", fmt.Sprintf(`location.href.startsWith(%q) && document.readyState === "complete" && %s`,
		d.Issuer+"/", visible("#submit-login")))
	tab.typeInto("#login", u.Email)
	tab.typeInto("#password", u.Password)
	tab.click("#submit-login")
}

// requestTo matches a Network.requestWillBeSent event for a URL starting
// with prefix.
func requestTo(prefix string) func(json.RawMessage) bool {
	return func(p json.RawMessage) bool { return strings.HasPrefix(sentRequest(p).URL, prefix) }
}

type request struct {
	URL      string `json:"url"`
	PostData string `json:"postData"`
}

func sentRequest(params json.RawMessage) request {
	var e struct {
		Request request `json:"request"`
	}
	_ = json.Unmarshal(params, &e)
	return e.Request
}

// TestPageSignsInWithTheIdentityProvider: a person clicks "Sign in with",
// logs in at Dex and is back on the page, which shows the environment read
// with the ID token. The requests in between are the authorization code
// flow with PKCE (S256), and neither the code nor a token stays in a URL.
func TestPageSignsInWithTheIdentityProvider(t *testing.T) {
	b := newBackend()
	origin, d := serveWithDex(t, b)
	tab := openTab(t, trusting(d))
	tab.call("Network.enable", map[string]any{}, nil)
	authorize := tab.expectEvent("Network.requestWillBeSent", requestTo(d.Issuer+"/auth?"))
	exchange := tab.expectEvent("Network.requestWillBeSent", requestTo(d.Issuer+"/token"))

	tab.navigate(origin + "/")
	tab.waitFor("offering to sign in with Dex", visible("#oidc"))
	var label string
	tab.value(`document.getElementById("oidc").textContent`, &label)
	issuer, err := url.Parse(d.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if label != "Sign in with "+issuer.Host {
		t.Errorf("the button says %q, want it to name Dex's host %s", label, issuer.Host)
	}
	tab.click("#oidc")
	logInAtDex(tab, d, oncall)
	tab.waitFor("back on the page, showing the services", visible("#content"))

	doc := tab.dom()
	if len(rows(doc, greenName)) != 1 || len(rows(doc, redName)) != 1 {
		t.Errorf("the services are not listed: %q", text(byID(doc, "services")))
	}
	if b.statusCalls() == 0 {
		t.Error("the page shows data the backend was never asked for")
	}
	var where string
	tab.value("location.href", &where)
	if where != origin+"/" {
		t.Errorf("after signing in the page is at %q, want %s/ (no code, no state)", where, origin)
	}

	auth := sentRequest(tab.event("the authorization request", authorize))
	q := mustQuery(t, auth.URL)
	for k, want := range map[string]string{"response_type": "code", "client_id": pageClient, "redirect_uri": origin + "/",
		"scope": "openid email profile groups", "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("state")) < 16 || len(q.Get("nonce")) < 16 {
		t.Errorf("authorization request state %q, nonce %q: want both random", q.Get("state"), q.Get("nonce"))
	}
	form := mustQuery(t, "?"+sentRequest(tab.event("the code exchange", exchange)).PostData)
	sum := sha256.Sum256([]byte(form.Get("code_verifier")))
	if form.Get("grant_type") != "authorization_code" || form.Get("code_verifier") == "" ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != q.Get("code_challenge") {
		t.Errorf("the code exchange %v does not prove the code challenge %q", form, q.Get("code_challenge"))
	}
	if form.Has("client_secret") {
		t.Error("the page sent a client secret")
	}

	kept := tab.storage()
	claims := jwtClaims(t, kept["envop-token"])
	if claims["email"] != oncall.Email || claims["aud"] != pageClient || claims["nonce"] != q.Get("nonce") {
		t.Errorf("the token kept has claims %v, want %s's ID token for %s with the request's nonce", claims, oncall.Email, pageClient)
	}
	if _, ok := kept["envop-signin"]; ok {
		t.Error("the finished sign-in's state and verifier are still kept")
	}
}

// TestPageRefusesAnAnswerWithAnotherState: the provider's answer comes back
// with a valid, unused code but a state this tab did not send (as a forged
// link would). The tab still holds the code verifier and the nonce, so
// only the state check stands between that answer and a stored token.
func TestPageRefusesAnAnswerWithAnotherState(t *testing.T) {
	b := newBackend()
	origin, d := serveWithDex(t, b)
	tab := openTab(t, trusting(d))
	tab.navigate(origin + "/")
	tab.click("#oidc")

	// Catch Dex's redirect back to the page ("/?code=...&state=...": the
	// code comes first, so the forged answer below, state first, is not
	// caught) and answer it with the same code and another state.
	tab.call("Fetch.enable", map[string]any{"patterns": []map[string]any{{"urlPattern": origin + "/?code=*", "requestStage": "Request"}}}, nil)
	paused := tab.expectEvent("Fetch.requestPaused", nil)
	logInAtDex(tab, d, oncall)
	var answer struct {
		RequestID string  `json:"requestId"`
		Request   request `json:"request"`
	}
	if err := json.Unmarshal(tab.event("Dex's answer", paused), &answer); err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, answer.Request.URL)
	if q.Get("code") == "" || q.Get("state") == "" {
		t.Fatalf("Dex answered %s, want a code and a state", answer.Request.URL)
	}
	forged := origin + "/?state=" + url.QueryEscape("forged-"+q.Get("state")) + "&code=" + url.QueryEscape(q.Get("code"))
	tab.call("Fetch.fulfillRequest", map[string]any{"requestId": answer.RequestID, "responseCode": 303,
		"responseHeaders": []map[string]string{{"name": "Location", "value": forged}}}, nil)

	tab.waitFor("done with the answer", visible("#error")+" || "+visible("#content"))
	var msg, where string
	tab.value(`document.getElementById("error").textContent`, &msg)
	tab.value("location.href", &where)
	if !strings.Contains(msg, "Sign-in failed") || !strings.Contains(msg, "refused") {
		t.Errorf("error %q, want the sign-in refused", msg)
	}
	if where != origin+"/" {
		t.Errorf("the page is at %q, want the code and state out of the address", where)
	}
	if kept := tab.storage(); len(kept) != 0 {
		t.Errorf("session storage after a refused answer: %v, want nothing", kept)
	}
	tab.waitFor("offering to sign in again", visible("#oidc"))
	if doc := tab.dom(); shown(byID(doc, "content")) {
		t.Error("the services are shown after a refused answer")
	}
	if n := b.statusCalls(); n != 0 {
		t.Errorf("the backend was read %d times after a refused answer", n)
	}
}

// TestPageSignInRefusedByTheAPI: someone the provider knows but the API
// refuses (a group it does not allow) sees that, and no data.
func TestPageSignInRefusedByTheAPI(t *testing.T) {
	b := newBackend()
	origin, d := serveWithDex(t, b)
	tab := openTab(t, trusting(d))
	tab.navigate(origin + "/")
	tab.click("#oidc")
	logInAtDex(tab, d, sales)
	tab.waitFor("back on the page, refused", fmt.Sprintf("location.href === %q && (%s || %s)", origin+"/", visible("#error"), visible("#content")))

	var msg string
	tab.value(`document.getElementById("error").textContent`, &msg)
	if !strings.Contains(msg, "refused") {
		t.Errorf("error %q, want the sign-in refused", msg)
	}
	if doc := tab.dom(); shown(byID(doc, "content")) || !shown(byID(doc, "oidc")) {
		t.Error("the services are shown, or no way to sign in again, after the API refused the user")
	}
	if kept := tab.storage(); len(kept) != 0 {
		t.Errorf("session storage after the API refused the token: %v, want nothing", kept)
	}
	if n := b.statusCalls(); n != 0 {
		t.Errorf("the backend was read %d times for a refused user", n)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Query()
}

// jwtClaims decodes a JWT's claims without checking it: the API did that.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("the token kept is not a JWT (%d parts)", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(data, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
