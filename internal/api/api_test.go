package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
)

func TestDeployAccepted(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, token, body, version string }{
		{"/deploy", deployToken, `{"name": "api", "version": "1.5.0"}`, "1.5.0"},
		{"/deploy", adminToken, `{"name": "worker", "version": "2.0", "application": "jobs"}`, "2.0"},
		{"/rollback", deployToken, `{"name": "api"}`, "1.4.1"},
		{"/rollback", deployToken, `{"name": "api", "version": "1.3.0"}`, "1.3.0"},
	} {
		t.Run(tc.path+" "+tc.version, func(t *testing.T) {
			body := decodeBody(t, e.do("POST", tc.path, tc.token, tc.body), http.StatusAccepted)
			id, _ := body["id"].(string)
			if id == "" || body["status"] != "deploying" || body["version"] != tc.version || body["service"] == "" {
				t.Fatalf("body %v: want id, status deploying, service and version %s", body, tc.version)
			}
			d, ok := e.be.GetDeploy(id)
			if !ok || d.Actor == "" || strings.Contains(d.Actor, "tok") {
				t.Fatalf("deploy %+v: want the token's name as actor", d)
			}
			got := decodeBody(t, e.do("GET", "/deploys/"+id, viewToken, ""), http.StatusOK)
			for _, k := range []string{"id", "service", "version", "status", "reason", "message", "actor", "started_at", "finished_at"} {
				if _, ok := got[k]; !ok {
					t.Errorf("GET /deploys/%s lacks %q: %v", id, k, got)
				}
			}
		})
	}
	// JSON with a charset is still JSON.
	r := req("POST", "/deploy", deployToken, `{"name":"api","version":"1.6"}`)
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	if rec := e.serve(r); rec.Code != http.StatusAccepted {
		t.Fatalf("charset: status %d: %s", rec.Code, rec.Body)
	}
}

func TestBadRequest(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, method, path, body string }{
		{"malformed", "POST", "/deploy", `{"name": "api", "version": `},
		{"not an object", "POST", "/deploy", `["api"]`},
		{"wrong type", "POST", "/deploy", `{"name": 7, "version": "1"}`},
		{"empty body", "POST", "/deploy", ``},
		{"missing name", "POST", "/deploy", `{"version": "1.0"}`},
		{"blank name", "POST", "/deploy", `{"name": "  ", "version": "1.0"}`},
		{"missing version", "POST", "/deploy", `{"name": "api"}`},
		{"unknown field", "POST", "/deploy", `{"name": "api", "version": "1.0", "force": true}`},
		{"trailing object", "POST", "/deploy", `{"name": "api", "version": "1.0"} {}`},
		{"trailing brace", "POST", "/deploy", `{"name": "api", "version": "1.0"}}`},
		{"trailing bracket", "POST", "/deploy", `{"name": "api", "version": "1.0"}]`},
		{"trailing text", "POST", "/deploy", `{"name": "api", "version": "1.0"} x`},
		{"rollback without name", "POST", "/rollback", `{}`},
		{"rollback unknown field", "POST", "/rollback", `{"name": "api", "to": "1"}`},
		{"promote without name", "POST", "/promote", `{}`},
		{"promote malformed", "POST", "/promote", `{"name"`},
		{"bad wait", "GET", "/deploys/dep-1?wait=soon", ``},
		{"negative wait", "GET", "/deploys/dep-1?wait=-5s", ``},
		{"bad limit", "GET", "/audit?limit=ten", ``},
		{"zero limit", "GET", "/audit?limit=0", ``},
		{"negative limit", "GET", "/audit?limit=-1", ``},
		{"bad lines", "GET", "/status/api/pods?lines=0", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req(tc.method, tc.path, adminToken, tc.body)
			if tc.method == "POST" {
				r.Header.Set("Content-Type", "application/json")
			}
			wantError(t, e.serve(r), http.StatusBadRequest)
		})
	}
	// A bad wait is reported before the deploy is looked up.
	wantError(t, e.do("GET", "/deploys/nope?wait=x", viewToken, ""), http.StatusBadRequest)
	// A trailing newline is not trailing data.
	if rec := e.do("POST", "/deploy", deployToken, "{\"name\": \"api\", \"version\": \"1.0\"}\n\n"); rec.Code != http.StatusAccepted {
		t.Fatalf("trailing newline: status %d: %s", rec.Code, rec.Body)
	}
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	routes := [][2]string{
		{"POST", "/deploy"}, {"GET", "/deploys/dep-1"}, {"GET", "/status"}, {"GET", "/status/api"},
		{"GET", "/status/api/pods"}, {"POST", "/rollback"}, {"POST", "/promote"}, {"GET", "/audit"},
	}
	for _, auth := range []struct{ name, header string }{
		{"no token", ""},
		{"bad token", "Bearer " + badToken},
		{"wrong scheme", "Basic " + deployToken},
		{"token without scheme", deployToken},
		{"empty bearer", "Bearer "},
	} {
		for _, rt := range routes {
			t.Run(auth.name+" "+rt[0]+" "+rt[1], func(t *testing.T) {
				r := req(rt[0], rt[1], "", `{"name": "api", "version": "1"}`)
				r.RemoteAddr = "198.51.100.7:1234" // many failures: keep them off the other tests' address
				if auth.header != "" {
					r.Header.Set("Authorization", auth.header)
				}
				e.secrets = append(e.secrets, deployToken)
				rec := e.serve(r)
				if rec.Code == http.StatusTooManyRequests {
					return // the limiter is tested on its own
				}
				wantError(t, rec, http.StatusUnauthorized)
				if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge", rec.Header().Get("WWW-Authenticate"))
				}
				if strings.Contains(rec.Body.String(), deployToken) || strings.Contains(rec.Body.String(), badToken) {
					t.Errorf("the response quotes the token: %s", rec.Body)
				}
			})
		}
	}
	if len(e.be.deploys) != 0 {
		t.Fatalf("an unauthenticated call reached the backend: %v", e.be.deploys)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	e.be.promotable["api"] = true
	posts := []struct{ path, body string }{
		{"/deploy", `{"name": "api", "version": "2.0"}`},
		{"/rollback", `{"name": "api"}`},
		{"/promote", `{"name": "api"}`},
	}
	for _, p := range posts {
		msg := wantError(t, e.do("POST", p.path, viewToken, p.body), http.StatusForbidden)
		if !strings.Contains(msg, "viewer") {
			t.Errorf("403 message %q: want the caller's name", msg)
		}
		for _, tok := range []string{deployToken, adminToken} {
			if rec := e.do("POST", p.path, tok, p.body); rec.Code/100 != 2 {
				t.Errorf("POST %s: status %d: %s", p.path, rec.Code, rec.Body)
			}
		}
	}
	if len(e.be.deploys) != 4 {
		t.Fatalf("%d deploys, want 4 (the view token must not start any)", len(e.be.deploys))
	}
	for _, path := range []string{"/status", "/status/api", "/status/api/pods", "/audit", "/deploys/dep-1"} {
		if rec := e.do("GET", path, viewToken, ""); rec.Code != http.StatusOK {
			t.Errorf("view GET %s: status %d: %s", path, rec.Code, rec.Body)
		}
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, method, path, token, body string }{
		{"deploy unknown service", "POST", "/deploy", deployToken, `{"name": "nosuch", "version": "1.0"}`},
		{"rollback unknown service", "POST", "/rollback", deployToken, `{"name": "nosuch"}`},
		{"promote unknown service", "POST", "/promote", deployToken, `{"name": "nosuch"}`},
		{"status unknown service", "GET", "/status/nosuch", viewToken, ``},
		{"pods unknown service", "GET", "/status/nosuch/pods", viewToken, ``},
		{"unknown deploy", "GET", "/deploys/dep-404", viewToken, ``},
		{"unknown deploy with wait", "GET", "/deploys/dep-404?wait=1s", viewToken, ``},
		{"unknown route", "GET", "/nope", viewToken, ``},
		{"unknown route without token", "GET", "/v1/status", "", ``},
		{"below a route", "GET", "/status/api/pods/x", viewToken, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(tc.method, tc.path, tc.token, tc.body), http.StatusNotFound)
		})
	}
	// A known path with the wrong method is 405, with Allow.
	rec := e.do("GET", "/deploy", viewToken, "")
	wantError(t, rec, http.StatusMethodNotAllowed)
	if allow := rec.Header().Get("Allow"); allow != "POST" {
		t.Errorf("Allow %q, want POST", allow)
	}
	rec = e.do("DELETE", "/status", viewToken, "")
	wantError(t, rec, http.StatusMethodNotAllowed)
	if allow := rec.Header().Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("Allow %q, want GET, HEAD", allow)
	}
}

func TestConflict(t *testing.T) {
	e := newEnv(t)
	msg := wantError(t, e.do("POST", "/promote", deployToken, `{"name": "api"}`), http.StatusConflict)
	if !strings.Contains(msg, "CrashLoopBackOff") {
		t.Errorf("409 message %q: want why", msg)
	}
	wantError(t, e.do("POST", "/rollback", deployToken, `{"name": "web"}`), http.StatusConflict)
	e.be.promotable["api"] = true
	body := decodeBody(t, e.do("POST", "/promote", deployToken, `{"name": "api"}`), http.StatusOK)
	if body["active"] != "green" || body["service"] != "api" {
		t.Fatalf("promote: %v", body)
	}
}

func TestTooLarge(t *testing.T) {
	e := newEnv(t)
	big := `{"name": "api", "version": "` + strings.Repeat("a", 70<<10) + `"}`
	for _, path := range []string{"/deploy", "/rollback", "/promote"} {
		wantError(t, e.do("POST", path, deployToken, big), http.StatusRequestEntityTooLarge)
	}
	// Too large only after a complete object: still 413, not 400.
	wantError(t, e.do("POST", "/deploy", deployToken, `{"name": "api", "version": "1"}`+strings.Repeat(" ", 70<<10)), http.StatusRequestEntityTooLarge)
	// Just under the bound is read.
	fits := `{"name": "api", "version": "1.0"}` + strings.Repeat(" ", maxBody-40)
	if rec := e.do("POST", "/deploy", deployToken, fits); rec.Code != http.StatusAccepted {
		t.Fatalf("a %d-byte body: status %d: %s", len(fits), rec.Code, rec.Body)
	}
}

// TestOnlyJSONIsPosted: the content types a browser sends cross-origin
// without a preflight (forms, text/plain), any other type and none at all
// are refused with 415 on every POST route, before anything is done.
func TestOnlyJSONIsPosted(t *testing.T) {
	e := newEnv(t)
	e.be.promotable["api"] = true
	bodies := map[string]string{
		"/deploy": `{"name": "api", "version": "1.0"}`, "/rollback": `{"name": "api"}`, "/promote": `{"name": "api"}`,
	}
	for path, body := range bodies {
		for _, ct := range []string{"", "application/x-www-form-urlencoded", "text/plain", "text/plain; charset=utf-8",
			"multipart/form-data; boundary=x", "application/jsonx", "application/json-patch+json", "bad/;;"} {
			r := req("POST", path, deployToken, body)
			r.Header.Del("Content-Type")
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			if msg := wantError(t, e.serve(r), http.StatusUnsupportedMediaType); !strings.Contains(msg, "application/json") {
				t.Errorf("%s with %q: message %q does not say what to send", path, ct, msg)
			}
		}
		r := req("POST", path, deployToken, body)
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		if rec := e.serve(r); rec.Code >= 300 {
			t.Errorf("%s as application/json; charset=utf-8: status %d: %s", path, rec.Code, rec.Body)
		}
	}
	if n := len(e.be.deploys); n != 2 { // the two JSON calls above, nothing else
		t.Errorf("%d deploys started, want 2", n)
	}
}

func TestUnprocessable(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{
		`{"name": "api", "version": "1.0 beta"}`,
		`{"name": "api", "version": "-1.0"}`,
		`{"name": "api", "version": "` + strings.Repeat("9", 64) + `"}`,
		`{"name": "Bad_Name", "version": "1.0"}`,
		`{"name": "api/../x", "version": "1.0"}`,
	} {
		wantError(t, e.do("POST", "/deploy", deployToken, body), http.StatusUnprocessableEntity)
	}
	wantError(t, e.do("POST", "/rollback", deployToken, `{"name": "api", "version": "no way"}`), http.StatusUnprocessableEntity)
}

func TestRateLimited(t *testing.T) {
	e := newEnv(t, withRateLimit(3))
	from := func(addr, token string) *http.Request {
		r := req("GET", "/status", token, "")
		r.RemoteAddr = addr
		return r
	}
	for i := range 3 {
		wantError(t, e.serve(from("203.0.113.5:1000", badToken+strconv.Itoa(i))), http.StatusUnauthorized)
	}
	for _, tok := range []string{badToken, viewToken} { // blocked, even with a good token
		rec := e.serve(from("203.0.113.5:1001", tok))
		wantError(t, rec, http.StatusTooManyRequests)
		secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		if err != nil || secs <= 0 || secs > 60 {
			t.Errorf("Retry-After %q, want whole seconds up to the block", rec.Header().Get("Retry-After"))
		}
	}
	// Another address is not affected.
	if rec := e.serve(from("203.0.113.6:1000", viewToken)); rec.Code != http.StatusOK {
		t.Fatalf("other address: status %d", rec.Code)
	}
	// Missing tokens are not guesses: they do not count.
	for range 5 {
		wantError(t, e.serve(from("203.0.113.7:1000", "")), http.StatusUnauthorized)
	}
}

func TestNotReady(t *testing.T) {
	e := newEnv(t)
	e.be.notReady = true
	for _, p := range []struct{ path, body string }{
		{"/deploy", `{"name": "api", "version": "1.0"}`},
		{"/rollback", `{"name": "api"}`},
		{"/promote", `{"name": "api"}`},
	} {
		wantError(t, e.do("POST", p.path, deployToken, p.body), http.StatusServiceUnavailable)
	}
	if !strings.Contains(e.logs.String(), "request failed") {
		t.Error("a 5xx answer is not logged")
	}
}

func TestWaitForDeploy(t *testing.T) {
	e := newEnv(t)
	e.be.finishAfter = 150 * time.Millisecond
	d := decodeBody(t, e.do("POST", "/deploy", deployToken, `{"name": "api", "version": "1.5.0"}`), http.StatusAccepted)
	id := d["id"].(string)

	start := time.Now()
	got := decodeBody(t, e.do("GET", "/deploys/"+id+"?wait=20s", viewToken, ""), http.StatusOK)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("waited %v for a deploy that ended after 150ms", took)
	}
	if got["status"] != state.StatusSucceeded || got["finished_at"] == nil {
		t.Fatalf("after the wait: %v", got)
	}
	// A finished deploy answers at once, whatever the wait.
	start = time.Now()
	decodeBody(t, e.do("GET", "/deploys/"+id+"?wait=30m", viewToken, ""), http.StatusOK)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a finished deploy took %v", took)
	}
}

func TestWaitRunsOut(t *testing.T) {
	e := newEnv(t)
	d := decodeBody(t, e.do("POST", "/deploy", deployToken, `{"name": "api", "version": "1.5.0"}`), http.StatusAccepted)
	id := d["id"].(string)
	for _, wait := range []string{"300ms", "1"} { // a duration, or seconds
		start := time.Now()
		got := decodeBody(t, e.do("GET", "/deploys/"+id+"?wait="+wait, viewToken, ""), http.StatusOK)
		took := time.Since(start)
		if got["status"] != state.StatusDeploying || got["id"] != id || got["finished_at"] != nil {
			t.Fatalf("wait=%s: %v", wait, got)
		}
		if min, _ := time.ParseDuration(wait); min == 0 && took < time.Second || took < min {
			t.Fatalf("wait=%s answered after %v", wait, took)
		}
	}
	// Without wait: at once.
	if got := decodeBody(t, e.do("GET", "/deploys/"+id, viewToken, ""), http.StatusOK); got["status"] != state.StatusDeploying {
		t.Fatalf("no wait: %v", got)
	}
}

func TestPage(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/", "", "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec.Header().Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}
	page := rec.Body.String()
	for _, data := range []string{"staging-xq7", "ns-staging-xq7", "c0ffee", "1.4.2", "9.9.9-rc1", "api.example.test", "ImagePullBackOff"} {
		if strings.Contains(page, data) {
			t.Errorf("the page holds environment data %q", data)
		}
	}
	// A token does not change that.
	if rec := e.do("GET", "/", adminToken, ""); rec.Body.String() != page {
		t.Error("the page differs with a token")
	}
}

// TestAuthConfig: the page learns where to sign in without a token, and
// its policy lets it connect to the operator and that issuer's origin only.
func TestAuthConfig(t *testing.T) {
	e := newEnv(t)
	if got := decodeBody(t, e.do("GET", "/auth/config", "", ""), http.StatusOK); len(got) != 0 {
		t.Errorf("without an issuer: %v, want {}", got)
	}
	if csp := e.do("GET", "/", "", "").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "; connect-src 'self';") {
		t.Errorf("without an issuer the page may connect elsewhere: %q", csp)
	}

	issuer := "https://login.example.test:8443/dex"
	e = newEnv(t, func(_ *auth.Options, o *Options) { o.SignIn = SignIn{Issuer: issuer, ClientID: "envop-page"} })
	got := decodeBody(t, e.do("GET", "/auth/config", "", ""), http.StatusOK)
	oidc, _ := got["oidc"].(map[string]any)
	if len(got) != 1 || len(oidc) != 2 || oidc["issuer"] != issuer || oidc["client_id"] != "envop-page" {
		t.Errorf("GET /auth/config = %v, want the issuer and the client id", got)
	}
	if csp := e.do("GET", "/", "", "").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "; connect-src 'self' https://login.example.test:8443;") {
		t.Errorf("the page may not reach the issuer's origin: %q", csp)
	}
}

// An issuer that is not a plain http(s) origin adds nothing to the policy.
func TestPagePolicyIgnoresOddIssuers(t *testing.T) {
	for _, issuer := range []string{"", "javascript:alert(1)", "https://", "https://a.test; script-src *", "https://a.test\x20*;/x", "data:text/html,x"} {
		csp := pagePolicy(issuer)
		if !strings.Contains(csp, "; connect-src 'self';") || strings.Count(csp, ";") != 6 || strings.Contains(csp, "*") {
			t.Errorf("issuer %q: policy %q", issuer, csp)
		}
	}
	if csp := pagePolicy("http://127.0.0.1:5556/dex"); !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:5556;") {
		t.Errorf("loopback issuer: policy %q", csp)
	}
}

// specStatus is GET /status as docs/api.md documents it, field by field.
var specStatus = map[string][]string{
	"":         {"environment", "namespace", "revision", "sync", "status", "services"},
	"sync":     {"status", "error", "at"},
	"service":  {"name", "application", "version", "status", "reason", "message", "replicas", "deployed_at", "external_url"},
	"replicas": {"desired", "updated", "ready", "available"},
}

// extraService are the fields a service may carry beyond docs/api.md.
var extraService = []string{"kind", "workload", "active"}

func TestStatus(t *testing.T) {
	e := newEnv(t)
	body := decodeBody(t, e.do("GET", "/status", viewToken, ""), http.StatusOK)
	wantKeys(t, "status", body, specStatus[""], nil)
	wantKeys(t, "sync", body["sync"].(map[string]any), specStatus["sync"], nil)
	if body["environment"] != "staging-xq7" || body["namespace"] != "ns-staging-xq7" || body["revision"] != "c0ffee1234567890" || body["status"] != "red" {
		t.Errorf("status: %v", body)
	}
	services := body["services"].([]any)
	if len(services) != 3 {
		t.Fatalf("%d services, want 3", len(services))
	}
	for _, s := range services {
		svc := s.(map[string]any)
		wantKeys(t, "service", svc, specStatus["service"], extraService)
		wantKeys(t, "replicas", svc["replicas"].(map[string]any), specStatus["replicas"], nil)
		if _, ok := svc["external_url"].([]any); !ok {
			t.Errorf("%v: external_url %v is not a list", svc["name"], svc["external_url"])
		}
	}
	worker := services[2].(map[string]any)
	if worker["name"] != "worker" || worker["version"] != "9.9.9-rc1" || worker["status"] != "red" || worker["reason"] != "ImagePullBackOff" {
		t.Errorf("a failed rollout shows the failing version, red, and why: %v", worker)
	}
	one := decodeBody(t, e.do("GET", "/status/worker", viewToken, ""), http.StatusOK)
	wantKeys(t, "service", one, specStatus["service"], extraService)
	if one["name"] != "worker" || one["application"] != "jobs" {
		t.Errorf("GET /status/worker: %v", one)
	}
}

func wantKeys(t *testing.T, what string, obj map[string]any, want, extra []string) {
	t.Helper()
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s lacks %q: %v", what, k, obj)
		}
	}
	for k := range obj {
		if !slices.Contains(want, k) && !slices.Contains(extra, k) {
			t.Errorf("%s has %q, which docs/api.md does not list", what, k)
		}
	}
}

func TestPods(t *testing.T) {
	e := newEnv(t)
	body := decodeBody(t, e.do("GET", "/status/api/pods?lines=500", viewToken, ""), http.StatusOK)
	pods := body["pods"].([]any)
	if len(pods) != 2 {
		t.Fatalf("%d pods, want 2", len(pods))
	}
	for _, p := range pods {
		for _, k := range []string{"name", "phase", "ready", "restarts", "reason", "started_at", "logs"} {
			if _, ok := p.(map[string]any)[k]; !ok {
				t.Errorf("pod lacks %q: %v", k, p)
			}
		}
	}
	// A service without pods has an empty list, not null.
	if rec := e.do("GET", "/status/web/pods", viewToken, ""); !strings.Contains(rec.Body.String(), `"pods":[]`) {
		t.Errorf("no pods: %s", rec.Body)
	}
}

func TestAudit(t *testing.T) {
	e := newEnv(t)
	var all []map[string]any
	rec := e.do("GET", "/audit", viewToken, "")
	if err := json.Unmarshal(rec.Body.Bytes(), &all); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /audit: %d %v %s", rec.Code, err, rec.Body)
	}
	if len(all) != 5 {
		t.Fatalf("%d records, want 5", len(all))
	}
	for i, r := range all {
		wantKeys(t, "record", r, []string{"time", "actor", "action", "service", "version", "revision", "result", "message"}, nil)
		if i > 0 && r["time"].(string) > all[i-1]["time"].(string) {
			t.Errorf("record %d is newer than the one before: not newest first", i)
		}
	}
	var some []map[string]any
	rec = e.do("GET", "/audit?service=web&limit=1", viewToken, "")
	if err := json.Unmarshal(rec.Body.Bytes(), &some); err != nil || len(some) != 1 || some[0]["service"] != "web" || some[0]["version"] != "1.3" {
		t.Fatalf("service=web&limit=1: %s", rec.Body)
	}
	rec = e.do("GET", "/audit?service=nosuch", viewToken, "")
	if strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("no records: %s, want []", rec.Body)
	}
	e.do("GET", "/audit?limit=100000", viewToken, "")
	want := []string{"/100", "web/1", "nosuch/100", "/1000"}
	if !slices.Equal(e.be.auditCalls, want) {
		t.Errorf("backend asked for %v, want %v (default 100, at most 1000)", e.be.auditCalls, want)
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	get := func(path string) *http.Response {
		r, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+path, nil)
		r.Header.Set("Authorization", "Bearer "+viewToken)
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get("/audit?service=panic")
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 500 || body["code"] != float64(500) || body["error"] != "internal error" {
		t.Fatalf("after a panic: %d %v %v", resp.StatusCode, body, err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "handler panicked") || !strings.Contains(logs, resp.Header.Get("X-Request-Id")) {
		t.Errorf("the panic is not logged with its request id:\n%s", logs)
	}
	if strings.Contains(readAll(t, resp.Body), "exploded") {
		t.Error("the panic's value reached the client")
	}
	if resp := get("/status"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after a panic the server answers %d", resp.StatusCode)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ sent, want string }{
		{"build-42.run_7", "build-42.run_7"},
		{"", ""},
		{"has space", ""},
		{"new\nline", ""},
		{"<script>", ""},
		{strings.Repeat("x", 65), ""},
	} {
		r := req("GET", "/status/nosuch", viewToken, "")
		if tc.sent != "" {
			r.Header["X-Request-Id"] = []string{tc.sent}
		}
		got := e.serve(r).Header().Get("X-Request-Id")
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("sent %q, got %q: want it echoed", tc.sent, got)
		case tc.want == "" && (got == tc.sent || len(got) != 16 || strings.Trim(got, "0123456789abcdef") != ""):
			t.Errorf("sent %q, got %q: want a generated id", tc.sent, got)
		}
	}
	if !strings.Contains(e.logs.String(), `"request_id":"build-42.run_7"`) {
		t.Error("the request id is not in the access log")
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/openapi.json", "", "")
	var doc map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil || doc["openapi"] == nil {
		t.Fatalf("GET /openapi.json: %d %.200s", rec.Code, rec.Body)
	}
}

func TestMalformedQueryIs400(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/audit?service=we%zz", "/audit?limit=%zz", "/deploys/x?wait=%zz"} {
		if rec := e.do("GET", path, viewToken, ""); rec.Code != 400 {
			t.Errorf("GET %s = %d, want 400", path, rec.Code)
		}
	}
}

// versionedBackend counts Status calls and says when the status changed.
type versionedBackend struct {
	Backend
	version atomic.Uint64
	builds  atomic.Int32
	env     status.Environment
}

func (b *versionedBackend) StatusVersion() uint64 { return b.version.Load() }

func (b *versionedBackend) Status() status.Environment {
	b.builds.Add(1)
	return b.env
}

func TestStatusReusedUntilChanged(t *testing.T) {
	vb := &versionedBackend{env: status.Environment{Environment: "one", Services: []status.Service{}}}
	e := newEnv(t, func(_ *auth.Options, o *Options) { vb.Backend = o.Backend; o.Backend = vb })
	get := func() string {
		rec := e.do("GET", "/status", viewToken, "")
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		return rec.Body.String()
	}
	get()
	get()
	if n := vb.builds.Load(); n != 1 {
		t.Fatalf("%d builds for two calls at one version, want 1", n)
	}
	vb.env.Environment = "two"
	vb.version.Add(1)
	if body := get(); !strings.Contains(body, `"two"`) || vb.builds.Load() != 2 {
		t.Fatalf("after a change: %s (%d builds)", body, vb.builds.Load())
	}
}
