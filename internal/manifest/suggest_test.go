package manifest

import (
	"strings"
	"testing"
)

// TestDidYouMean: an unknown field close to a known one of the same object
// names it; one close to none, or too short to tell, names nothing.
func TestDidYouMean(t *testing.T) {
	for _, tt := range []struct {
		key, want string
	}{
		{"External_URL", "external_url"}, // another case
		{"externalUrl", "external_url"},  // another spelling of the separator
		{"HTTPSONLY", "httpsOnly"},
		{"replcas", "replicas"},  // a letter missing
		{"replicsa", "replicas"}, // two letters swapped
		{"imagee", "image"},      // a letter too many
		{"helth_check", "health_check"},
		{"volumez", "volumes"},
		{"lables", "labels"},
		{"limit", "limits"},
		{"prot", "port"}, // four letters, one swap
		{"mount", ""},    // five letters, two edits from port: too far to guess
		{"cache", ""},
		{"foo", ""},
		{"xyz", ""},
		{"sevice_mesh", "service_mesh"},
	} {
		got := strings.TrimSuffix(strings.TrimPrefix(didYouMean(tt.key, serviceFields), ": did you mean "), "?")
		if got != tt.want {
			t.Errorf("%s: suggests %q, want %q", tt.key, got, tt.want)
		}
	}
	if got := didYouMean("Files", gistFields); got != ": did you mean files?" {
		t.Errorf("Files in a gist: %q", got)
	}
	// Ties go to the first name in order, whatever the map's order.
	for range 20 {
		if got := didYouMean("porty", serviceFields); got != ": did you mean port?" {
			t.Fatalf("porty (port or ports): %q", got)
		}
	}
}

// TestUnknownFieldHint: the hint is part of the error at the key.
func TestUnknownFieldHint(t *testing.T) {
	_, diags := Load("e.bitesize", []byte(`project: demo
environments:
  - name: dev
    namespace: demo
    gists:
      - name: cfg
        Files: [a]
    services:
      - name: web
        External_URL: web.example.com
        imgae: nginx
`))
	want := `e.bitesize:6:9: environments[0].gists[0]: one of path or files is required
e.bitesize:7:9: environments[0].gists[0].Files: unknown field: did you mean files?
e.bitesize:10:9: environments[0].services[0].External_URL: unknown field: did you mean external_url?
e.bitesize:11:9: environments[0].services[0].imgae: unknown field: did you mean image?
`
	if got := diags.String(); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"port", "port", 0}, {"prot", "port", 1}, {"pot", "port", 1}, {"ports", "port", 1},
		{"abcd", "badc", 2}, {"kitten", "sitting", 3}, {"", "abcd", 3},
	} {
		if got := editDistance(tt.a, tt.b, 2); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestMisplacedServiceField: a service's field written in an environment
// (a service without its services list) says where it belongs.
func TestMisplacedServiceField(t *testing.T) {
	_, diags := Load("e.bitesize", []byte(`project: demo
environments:
  - name: api
    port: 8080
    hpa: {min_replicas: 1, max_replicas: 3}
    servics: []
`))
	want := `e.bitesize:4:5: environments[0].port: unknown field: port is a field of a service: list the service under services
e.bitesize:5:5: environments[0].hpa: unknown field: hpa is a field of a service: list the service under services
e.bitesize:6:5: environments[0].servics: unknown field: did you mean services?
`
	if got := diags.String(); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

// TestSlashCommentHint: a // comment is part of a YAML value; the error
// about the value says so.
func TestSlashCommentHint(t *testing.T) {
	_, diags := Load("e.bitesize", []byte(`project: demo
environments:
  - name: dev
    namespace: demo
    services:
      - name: web
        kind: deployment // the default
`))
	want := `e.bitesize:7:15: environments[0].services[0].kind: must be one of deployment, statefulset, job, cronjob, got "deployment // the default" (YAML comments start with #, not //: the text after // is part of the value)
`
	if got := diags.String(); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}
