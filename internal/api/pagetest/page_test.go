package pagetest

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/status"
)

// viewToken is the test token file's only token, with the view role: the
// page needs no more.
const viewToken = "page-view-token-3c9e1a7f5b2d4e6f8a0b"

// phone is the window the screenshot is taken in (a common phone's CSS
// pixels), so the artifact shows what a person on call sees.
const phoneWidth, phoneHeight = 412, 915

// serve runs the real API, with the real authenticator and a token file,
// over b on 127.0.0.1, and returns its URL.
func serve(t *testing.T, b *backend) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(viewToken+" on-call view\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(t.Context(), auth.Options{TokenFile: file})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(authn.Close)
	srv := httptest.NewServer(api.New(api.Options{Backend: b, Auth: authn}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want loopback", srv.URL)
	}
	return srv.URL
}

// signIn opens the page in a new browser tab, types token into the token
// field and presses the button, as a person would.
func signIn(t *testing.T, url, token string, extra ...string) *tab {
	t.Helper()
	b := openTab(t, extra...)
	b.navigate(url + "/")
	b.typeInto("#token", token)
	b.click("#login button")
	return b
}

// signedIn is signIn with a token the API accepts, waiting for the data.
func signedIn(t *testing.T, url, token string, extra ...string) *tab {
	t.Helper()
	b := signIn(t, url, token, extra...)
	b.waitFor("showing the services", visible("#content"))
	return b
}

func TestPageShowsTheEnvironmentWithAToken(t *testing.T) {
	url := serve(t, newBackend())
	b := signedIn(t, url, viewToken)
	doc := b.dom()

	// The token is kept in this tab's session storage, never in the address.
	var where, typed string
	b.value("location.href", &where)
	b.value(`document.getElementById("token").value`, &typed)
	if where != url+"/" || typed != "" {
		t.Errorf("after signing in the page is at %q with %q left in the token field", where, typed)
	}
	if got := b.storage()["envop-token"]; got != viewToken {
		t.Errorf("session storage holds %q as the token", got)
	}
	if content := byID(doc, "content"); content == nil || !shown(content) {
		t.Fatal("the services are hidden with a valid token")
	}
	if login := byID(doc, "login"); login != nil && shown(login) {
		t.Error("the token prompt is shown with a valid token")
	}
	if env := text(byID(doc, "env")); !strings.Contains(env, envName) || !strings.Contains(env, namespace) {
		t.Errorf("heading = %q, want the environment %q and namespace %q", env, envName, namespace)
	}
	if summary := text(byID(doc, "summary")); !strings.Contains(summary, "9f1c2e7d4b3a") || !strings.Contains(summary, "gists c0ffee5eed12") ||
		!strings.Contains(summary, "synced") {
		t.Errorf("summary = %q, want the revision, the gists revision and the sync state", summary)
	}

	green := rows(doc, greenName)
	if len(green) != 1 {
		t.Fatalf("%d rows for %s, want 1", len(green), greenName)
	}
	if st, _ := attr(green[0], "data-status"); st != "green" {
		t.Errorf("%s row data-status = %q, want green", greenName, st)
	}
	for _, want := range []string{"2.7.1", "green", "3/3", "checkout.example.test"} {
		if !strings.Contains(text(green[0]), want) {
			t.Errorf("%s row %q does not show %q", greenName, text(green[0]), want)
		}
	}

	red := rows(doc, redName)
	if len(red) != 1 {
		t.Fatalf("%d rows for %s, want 1", len(red), redName)
	}
	if st, _ := attr(red[0], "data-status"); st != "red" {
		t.Errorf("%s row data-status = %q, want red", redName, st)
	}
	for _, want := range []string{"5.0.0-rc3", "red", redReason, redMessage, "0/2"} {
		if !strings.Contains(text(red[0]), want) {
			t.Errorf("%s row %q does not show %q", redName, text(red[0]), want)
		}
	}

	audit := text(byID(doc, "audit"))
	for _, want := range []string{auditActor, "deploy " + redName + " 5.0.0-rc3", "accepted", "sync", "applied revision 9f1c2e7d4b3a"} {
		if !strings.Contains(audit, want) {
			t.Errorf("recent changes %q do not show %q", audit, want)
		}
	}
}

func TestPageWithoutATokenShowsNoData(t *testing.T) {
	b := newBackend()
	url := serve(t, b)
	tab := openTab(t)
	tab.navigate(url + "/")
	tab.waitFor("asking for a token", visible("#token"))
	doc := tab.dom()

	login := byID(doc, "login")
	if login == nil || !shown(login) {
		t.Fatal("no token prompt without a token")
	}
	if input := byID(doc, "token"); input == nil || !shown(input) {
		t.Error("the token prompt has no visible input")
	}
	if content := byID(doc, "content"); content != nil && shown(content) {
		t.Error("the services section is shown without a token")
	}
	if sso := byID(doc, "sso"); sso == nil || shown(sso) {
		t.Error("a sign-in button is shown, or missing from the page, with no identity provider configured")
	}
	all := text(doc)
	for _, secret := range []string{greenName, redName, envName, namespace, redReason, auditActor} {
		if strings.Contains(all, secret) {
			t.Errorf("the page shows %q without a token", secret)
		}
	}
	if n := b.statusCalls(); n != 0 {
		t.Errorf("the backend was read %d times without a token", n)
	}
}

func TestPageWithARefusedTokenShowsNoData(t *testing.T) {
	b := newBackend()
	url := serve(t, b)
	tab := signIn(t, url, "not-the-token-0000000000000000")
	tab.waitFor("saying the token was refused", visible("#error"))
	doc := tab.dom()

	if login := byID(doc, "login"); login == nil || !shown(login) {
		t.Error("no token prompt after a refused token")
	}
	if msg := visibleText(byID(doc, "error")); !strings.Contains(msg, "refused") {
		t.Errorf("error message = %q, want it to say the token was refused", msg)
	}
	all := text(doc)
	for _, secret := range []string{greenName, redName, envName} {
		if strings.Contains(all, secret) {
			t.Errorf("the page shows %q with a refused token", secret)
		}
	}
	if n := b.statusCalls(); n != 0 {
		t.Errorf("the backend was read %d times with a refused token", n)
	}
	if got, ok := tab.storage()["envop-token"]; ok {
		t.Errorf("the refused token %q is still kept", got)
	}
}

// The page reads the status again on its own: after its refresh interval
// of virtual time it shows the version deployed meanwhile.
func TestPageRefreshesItself(t *testing.T) {
	b := newBackend()
	now := time.Now().UTC()
	b.view = func(call int) status.Environment {
		if call <= 2 { // the first refresh reads /status and /audit
			return environment(now, "2.7.1")
		}
		return environment(now, "2.8.0")
	}
	tab := signedIn(t, serve(t, b), viewToken)
	tab.advance(25 * time.Second)
	doc := tab.dom()
	green := rows(doc, greenName)
	if len(green) != 1 || !strings.Contains(text(green[0]), "2.8.0") {
		t.Errorf("after 25s the page does not show the new version: rows %d, %q", len(green), text(green[0]))
	}
	if n := b.statusCalls(); n < 4 {
		t.Errorf("the backend was read %d times in 25s, want at least 4", n)
	}
}

// The screenshot is a phone-sized view of the logged-in page, kept as a
// test artifact (go test -artifacts -outputdir DIR keeps it).
func TestPageScreenshot(t *testing.T) {
	tab := signedIn(t, serve(t, newBackend()), viewToken, "--hide-scrollbars")
	tab.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": phoneWidth, "height": phoneHeight, "deviceScaleFactor": 1, "mobile": true}, nil)
	shot := filepath.Join(t.ArtifactDir(), "status-page-phone.png")
	data := tab.screenshot()
	if err := os.WriteFile(shot, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if cfg.Width != phoneWidth || cfg.Height != phoneHeight {
		t.Errorf("screenshot is %dx%d, want %dx%d", cfg.Width, cfg.Height, phoneWidth, phoneHeight)
	}
	t.Logf("screenshot of the status page on a phone: %s", shot)
}

// The page loads nothing from elsewhere, its policy forbids it, and hidden
// means hidden.
func TestPageMarkup(t *testing.T) {
	url := serve(t, newBackend())
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ToLower(string(body))
	for _, bad := range []string{"http://", "https://", "//cdn", "<link", "<script src", "<img", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	// The DOM the tests read shows the hidden attribute, not whether the
	// page's own display rules override it (they did: the token prompt
	// stayed on screen next to the data, as the screenshot showed).
	if !strings.Contains(strings.ReplaceAll(page, " ", ""), "[hidden]{display:none!important}") {
		t.Error("the page's stylesheet does not make the hidden attribute win over its display rules")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

// TestPageShowsSyncErrorsAndTheServingColour: a broken commit's errors are
// shown one a line, and a blue/green service shows which version serves.
func TestPageShowsSyncErrorsAndTheServingColour(t *testing.T) {
	b := newBackend()
	now := time.Now().UTC().Truncate(time.Second)
	b.view = func(int) status.Environment {
		env := environment(now, "2.7.1")
		env.Sync = status.Sync{Status: "error", At: &now, Error: "revision abc is invalid: 2 errors:\n" +
			"environments.bitesize:9:9: environments[0].services[0].replcas: unknown field\n" +
			"environments.bitesize:12:9: environments[0].services[1].prots: unknown field"}
		env.Services[0].Version, env.Services[0].Active, env.Services[0].ActiveVersion = "2.8.0", "blue", "2.7.1"
		return env
	}
	doc := signedIn(t, serve(t, b), viewToken).dom()
	syncErr := byID(doc, "syncerror")
	if syncErr == nil || !shown(syncErr) {
		t.Fatal("the sync error is not shown")
	}
	if got := text(syncErr); !strings.Contains(got, "replcas: unknown field\nenvironments.bitesize:12:9") {
		t.Errorf("sync error %q, want its errors one a line", got)
	}
	if got := text(rows(doc, greenName)[0]); !strings.Contains(got, "2.8.0 (serving 2.7.1 on blue)") {
		t.Errorf("%s row %q, want the deployed and the serving version", greenName, got)
	}
}
