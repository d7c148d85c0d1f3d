package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openAPI is the parts of the document the tests read.
type openAPI struct {
	raw   map[string]any
	Paths map[string]map[string]struct {
		Parameters []map[string]any `json:"parameters"`
		Responses  map[string]any   `json:"responses"`
	} `json:"paths"`
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	var doc openAPI
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := json.Unmarshal(openAPIDoc, &doc.raw); err != nil {
		t.Fatal(err)
	}
	if v, _ := doc.raw["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi.json: version %q, want 3.x", v)
	}
	return &doc
}

// resolve follows a local "$ref" until it reaches an object without one.
func (d *openAPI) resolve(t *testing.T, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	for i := 0; m != nil && m["$ref"] != nil; i++ {
		ref, _ := m["$ref"].(string)
		var cur any = d.raw
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			obj, _ := cur.(map[string]any)
			cur = obj[part]
		}
		if m, _ = cur.(map[string]any); m == nil || i > 10 {
			t.Fatalf("openapi.json: $ref %q does not resolve", ref)
		}
	}
	return m
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// samplePath fills a path template with values the fake backend knows.
func samplePath(tmpl string) string {
	return pathParam.ReplaceAllStringFunc(tmpl, func(p string) string {
		return map[string]string{"{service}": "api", "{id}": "dep-1"}[p]
	})
}

// TestOpenAPIMatchesRoutes keeps the document and the mux the same: every
// route is documented with its method and path template, every documented
// operation is what the real mux routes that request to, and is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	e := newEnv(t, withWebhookSecret(hookSecret))
	s := &server{Options: Options{Backend: e.be}}
	mux := s.mux()

	documented := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented++
			rt := route{method: strings.ToUpper(method), path: path}
			r := httptest.NewRequest(rt.method, samplePath(path), nil)
			if _, pattern := mux.Handler(r); pattern != rt.pattern() {
				t.Errorf("%s %s is documented, but the mux routes it to %q", rt.method, path, pattern)
			}
			rec := e.do(rt.method, samplePath(path), adminToken, "{}")
			if rec.Code == http.StatusMethodNotAllowed || strings.Contains(rec.Body.String(), "no route") {
				t.Errorf("%s %s is documented but not served: %d %s", rt.method, path, rec.Code, rec.Body)
			}
			// Path parameters are declared exactly once each.
			var declared []string
			for _, p := range op.Parameters {
				if p := doc.resolve(t, p); p["in"] == "path" {
					declared = append(declared, "{"+p["name"].(string)+"}")
				}
			}
			if inPath := pathParam.FindAllString(path, -1); !slices.Equal(declared, inPath) {
				t.Errorf("%s %s declares path parameters %v, the template has %v", rt.method, path, declared, inPath)
			}
			for code := range op.Responses {
				if n, err := strconv.Atoi(code); err != nil || n < 200 || n > 599 {
					t.Errorf("%s %s: response %q is not a status code", rt.method, path, code)
				}
			}
		}
	}
	routes := s.routes()
	for _, rt := range routes {
		if _, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", rt.method, rt.path)
		}
	}
	if documented != len(routes) {
		t.Errorf("openapi.json documents %d operations, the API has %d routes", documented, len(routes))
	}
}

// TestOpenAPIResponses sends real requests and checks each answer against
// the document: its status is declared for the operation, and its body
// fits the declared schema.
func TestOpenAPIResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	e := newEnv(t, withWebhookSecret(hookSecret), withWebhookLimits(WebhookLimits{Burst: 1, Every: time.Hour}))
	e.be.promotable["api"] = true
	mux := (&server{Options: Options{Backend: e.be}}).mux()
	hook := func(r *http.Request) { r.Header.Set("X-Gitlab-Token", hookSecret) }
	for _, tc := range []struct {
		method, path, token, body string
		code                      int
		edit                      func(*http.Request)
	}{
		{"POST", "/deploy", deployToken, `{"name": "api", "version": "1.5"}`, 202, nil},
		{"GET", "/deploys/dep-1", viewToken, ``, 200, nil},
		{"GET", "/status", viewToken, ``, 200, nil},
		{"GET", "/status/worker", viewToken, ``, 200, nil},
		{"GET", "/status/api/pods", viewToken, ``, 200, nil},
		{"POST", "/rollback", deployToken, `{"name": "api"}`, 202, nil},
		{"POST", "/promote", deployToken, `{"name": "api"}`, 200, nil},
		{"GET", "/audit?limit=3", viewToken, ``, 200, nil},
		{"POST", "/diff", viewToken, `{"file": "worker", "gists": {"a.txt": "x"}}`, 200, nil},
		{"POST", "/diff", viewToken, `{"file": "invalid"}`, 422, nil},
		{"POST", "/diff", apiViewToken, `{"file": "worker"}`, 403, nil},
		{"POST", "/webhook", ``, `{}`, 202, hook},
		{"POST", "/webhook", ``, `{}`, 200, hook},
		{"POST", "/webhook", ``, `{"after": "c0ffee"}`, 429, hook},
		{"GET", "/openapi.json", ``, ``, 200, nil},
		{"GET", "/auth/config", ``, ``, 200, nil},
		{"POST", "/deploy", deployToken, `{"name": "api"}`, 400, nil},
		{"POST", "/deploy", ``, `{}`, 401, nil},
		{"POST", "/deploy", viewToken, `{}`, 403, nil},
		{"POST", "/deploy", deployToken, `{"name": "nosuch", "version": "1"}`, 404, nil},
		{"POST", "/deploy", deployToken, `{"name": "api", "version": "1 0"}`, 422, nil},
		{"POST", "/deploy", deployToken, `{"name": "x", "version": "` + strings.Repeat("a", maxBody) + `"}`, 413, nil},
		{"POST", "/deploy", deployToken, `{}`, 415, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }},
		{"GET", "/deploys/nope", viewToken, ``, 404, nil},
		{"GET", "/deploys/dep-1?wait=x", viewToken, ``, 400, nil},
		{"GET", "/status/nosuch", viewToken, ``, 404, nil},
		{"GET", "/status/nosuch/pods", viewToken, ``, 404, nil},
		{"POST", "/rollback", deployToken, `{"name": "web"}`, 409, nil},
		{"POST", "/promote", deployToken, `{"name": "web"}`, 409, nil},
		{"GET", "/audit?limit=x", viewToken, ``, 400, nil},
		{"POST", "/webhook", ``, `{}`, 401, nil},
	} {
		name := fmt.Sprintf("%s %s %d", tc.method, tc.path, tc.code)
		t.Run(name, func(t *testing.T) {
			r := req(tc.method, tc.path, tc.token, tc.body)
			if tc.edit != nil {
				tc.edit(r)
			}
			rec := e.serve(r)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			_, pattern := mux.Handler(r)
			method, path, _ := strings.Cut(pattern, " ")
			path = strings.TrimSuffix(path, "{$}")
			op := doc.Paths[path][strings.ToLower(method)]
			resp, ok := op.Responses[strconv.Itoa(rec.Code)]
			if !ok {
				t.Fatalf("%s answered %d, which openapi.json does not declare", pattern, rec.Code)
			}
			content, _ := doc.resolve(t, resp)["content"].(map[string]any)
			media := doc.resolve(t, content["application/json"])
			if media == nil {
				t.Fatalf("%s %d: no application/json content declared", pattern, rec.Code)
			}
			var body any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			for _, problem := range checkSchema(t, doc, media["schema"], body, "body") {
				t.Error(problem)
			}
		})
	}
}

// checkSchema is a small JSON Schema checker for what openapi.json uses:
// type (a name or a list of names), required, properties, items, enum.
func checkSchema(t *testing.T, doc *openAPI, schema, v any, at string) []string {
	s := doc.resolve(t, schema)
	if s == nil {
		return nil
	}
	var problems []string
	if types := typeNames(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) {
		return []string{fmt.Sprintf("%s: %s, want %v", at, jsonType(v), types)}
	}
	if enum, ok := s["enum"].([]any); ok && v != nil && !slices.Contains(enum, v) {
		problems = append(problems, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch v := v.(type) {
	case map[string]any:
		required, _ := s["required"].([]any)
		for _, k := range required {
			if _, ok := v[k.(string)]; !ok {
				problems = append(problems, fmt.Sprintf("%s: required %q missing", at, k))
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, pv := range v {
			if ps, ok := props[k]; ok {
				problems = append(problems, checkSchema(t, doc, ps, pv, at+"."+k)...)
			}
		}
	case []any:
		for i, item := range v {
			problems = append(problems, checkSchema(t, doc, s["items"], item, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return problems
}

func typeNames(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, s := range v {
			out = append(out, s.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}
