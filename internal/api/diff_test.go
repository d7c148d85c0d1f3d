package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	e := newEnv(t)
	decodeAnswer := func(t *testing.T, body string) DiffAnswer {
		t.Helper()
		var ans DiffAnswer
		if err := json.Unmarshal([]byte(body), &ans); err != nil {
			t.Fatalf("answer %q: %v", body, err)
		}
		return ans
	}
	names := func(ans DiffAnswer) string {
		var out []string
		for _, c := range ans.Changes {
			out = append(out, c.Name+":"+c.Action)
		}
		return strings.Join(out, " ")
	}

	rec := e.serve(req("POST", "/diff", viewToken, `{"file": "worker"}`))
	if rec.Code != http.StatusOK {
		t.Fatalf("view token: %d %s", rec.Code, rec.Body)
	}
	if got := names(decodeAnswer(t, rec.Body.String())); got != "api:update web:unchanged shared:unchanged worker:delete" {
		t.Errorf("view token sees %q", got)
	}

	// A scope limited to api and web: the others' objects are left out...
	rec = e.serve(req("POST", "/diff", apiViewToken, `{"file": "x"}`))
	if rec.Code != http.StatusOK {
		t.Fatalf("scoped token: %d %s", rec.Code, rec.Body)
	}
	if got := names(decodeAnswer(t, rec.Body.String())); got != "api:update web:unchanged" {
		t.Errorf("scoped token sees %q, want api and web only", got)
	}
	// ...and a file changing one of them is refused, naming none.
	rec = e.serve(req("POST", "/diff", apiViewToken, `{"file": "worker"}`))
	if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "worker") {
		t.Errorf("scoped token, worker deleted: %d %s; want 403 naming no object", rec.Code, rec.Body)
	}

	rec = e.serve(req("POST", "/diff", viewToken, `{"file": "invalid"}`))
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "environments.bitesize:3:7") {
		t.Errorf("invalid file: %d %s; want 422 with file:line:column", rec.Code, rec.Body)
	}

	gists := make([]string, maxDiffGists+1)
	for i := range gists {
		gists[i] = fmt.Sprintf("%q: \"x\"", fmt.Sprintf("g/%d", i))
	}
	big := `{"file": "x` + strings.Repeat("y", maxDiffBody) + `"}`
	for _, tc := range []struct {
		name, token, body, contentType string
		code                           int
	}{
		{"no token", "", `{"file": "x"}`, "application/json", http.StatusUnauthorized},
		{"bad token", badToken, `{"file": "x"}`, "application/json", http.StatusUnauthorized},
		{"not JSON", viewToken, `{"file": "x"}`, "text/plain", http.StatusUnsupportedMediaType},
		{"no file", viewToken, `{"gists": {}}`, "application/json", http.StatusBadRequest},
		{"unknown field", viewToken, `{"file": "x", "env": "dev"}`, "application/json", http.StatusBadRequest},
		{"body too large", viewToken, big, "application/json", http.StatusRequestEntityTooLarge},
		{"too many gists", viewToken, `{"file": "x", "gists": {` + strings.Join(gists, ",") + `}}`, "application/json", http.StatusRequestEntityTooLarge},
		{"GET", viewToken, "", "", http.StatusMethodNotAllowed},
	} {
		method := "POST"
		if tc.name == "GET" {
			method = "GET"
		}
		r := req(method, "/diff", tc.token, tc.body)
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		if rec := e.serve(r); rec.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.code)
		}
	}
}
