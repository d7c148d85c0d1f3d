package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/status"
)

// TestScopedTokenActsOnlyOnItsServices: a token limited to some services
// gets a 403 naming the service for every call outside them (existing or
// not, so a scope cannot probe for names), and lists show only its own.
func TestScopedTokenActsOnlyOnItsServices(t *testing.T) {
	e := newEnv(t)
	e.be.promotable["api"], e.be.promotable["web"] = true, true
	e.be.records = append(e.be.records, audit.Record{Actor: "git", Action: audit.ActionSync, Revision: "c0ffee", Result: audit.ResultSuccess})

	outside := []struct{ method, path, body string }{
		{"POST", "/deploy", `{"name": "web", "version": "2.0"}`},
		{"POST", "/deploy", `{"name": "no-such-service", "version": "2.0"}`},
		{"POST", "/rollback", `{"name": "worker"}`},
		{"POST", "/promote", `{"name": "web"}`},
		{"GET", "/status/web", ""},
		{"GET", "/status/web/pods", ""},
		{"GET", "/status/nope", ""},
		{"GET", "/audit?service=web", ""},
	}
	for _, c := range outside {
		msg := wantError(t, e.do(c.method, c.path, apiToken, c.body), http.StatusForbidden)
		if !strings.Contains(msg, "api-ci") || !strings.Contains(msg, "outside its scope") {
			t.Errorf("%s %s: message %q does not name the caller and the scope", c.method, c.path, msg)
		}
	}
	if n := len(e.be.deploys); n != 0 {
		t.Fatalf("%d deploys started outside the scope", n)
	}

	// Inside: everything works.
	rec := e.do("POST", "/deploy", apiToken, `{"name": "api", "version": "2.0"}`)
	d := decodeBody(t, rec, http.StatusAccepted)
	if rec := e.do("GET", "/deploys/"+d["id"].(string), apiToken, ""); rec.Code != http.StatusOK {
		t.Errorf("its own deploy: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/status/api", "/status/api/pods", "/audit?service=api"} {
		if rec := e.do("GET", path, apiToken, ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := e.do("POST", "/promote", apiToken, `{"name": "api"}`); rec.Code != http.StatusOK {
		t.Errorf("promote api: %d %s", rec.Code, rec.Body)
	}

	// Someone else's deploy is not readable.
	other := decodeBody(t, e.do("POST", "/deploy", deployToken, `{"name": "web", "version": "3.0"}`), http.StatusAccepted)
	wantError(t, e.do("GET", "/deploys/"+other["id"].(string), apiToken, ""), http.StatusForbidden)

	// Lists: only the services in scope; the environment records are not.
	if got := statusNames(t, e.do("GET", "/status", apiToken, "")); got != "api" {
		t.Errorf("GET /status shows %q, want api only", got)
	}
	if got := statusNames(t, e.do("GET", "/status", apiViewToken, "")); got != "api,web" {
		t.Errorf("GET /status (api,web viewer) shows %q", got)
	}
	if got := statusNames(t, e.do("GET", "/status", viewToken, "")); got != "api,web,worker" {
		t.Errorf("GET /status (unscoped) shows %q", got)
	}
	for _, rec := range auditOf(t, e.do("GET", "/audit?limit=3", apiToken, "")) {
		if rec.Service != "api" {
			t.Errorf("GET /audit shows %+v to a token scoped to api", rec)
		}
	}
	if n := len(auditOf(t, e.do("GET", "/audit?limit=3", apiToken, ""))); n != 3 {
		t.Errorf("GET /audit?limit=3 gave %d records, want 3 of api's (the filter must still fill the limit)", n)
	}
	sawSync := false
	for _, rec := range auditOf(t, e.do("GET", "/audit", adminToken, "")) {
		sawSync = sawSync || rec.Action == audit.ActionSync
	}
	if !sawSync {
		t.Error("an unscoped admin does not see the environment's records")
	}

	// A view token scoped to api may not deploy even there.
	wantError(t, e.do("POST", "/deploy", apiViewToken, `{"name": "api", "version": "2.1"}`), http.StatusForbidden)
}

// TestScopedStatusJudgesOnlyItsServices: the environment's status seen by
// a scoped caller is that of its services (worker is red; api is green).
func TestScopedStatusJudgesOnlyItsServices(t *testing.T) {
	e := newEnv(t)
	var view status.Environment
	if err := json.Unmarshal(e.do("GET", "/status", apiToken, "").Body.Bytes(), &view); err != nil {
		t.Fatal(err)
	}
	if view.Status != "green" || view.Revision == "" {
		t.Errorf("scoped view: status %q revision %q, want green and the revision", view.Status, view.Revision)
	}
	if err := json.Unmarshal(e.do("GET", "/status", viewToken, "").Body.Bytes(), &view); err != nil {
		t.Fatal(err)
	}
	if view.Status != "red" {
		t.Errorf("unscoped view: status %q, want red (worker)", view.Status)
	}
}

func statusNames(t *testing.T, rec interface{ Result() *http.Response }) string {
	t.Helper()
	var view status.Environment
	if err := json.NewDecoder(rec.Result().Body).Decode(&view); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range view.Services {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

func auditOf(t *testing.T, rec interface{ Result() *http.Response }) []audit.Record {
	t.Helper()
	var out []audit.Record
	if err := json.NewDecoder(rec.Result().Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
