package vault

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/vault/vaulttest"
)

const (
	vaultToken = "hvs.test-token-5e1f0c2a9b7d"
	ns         = "team-a"
)

func newSource(t *testing.T, kv *vaulttest.KV, tweak func(*Options)) *Source {
	t.Helper()
	opts := Options{Address: kv.URL, Token: vaultToken, CAFile: kv.CAFile, Log: slog.New(slog.DiscardHandler)}
	if tweak != nil {
		tweak(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ingress is an Ingress as render produces it for `tls: {vault: path}`.
func ingress(name, secret, path string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"tls": []any{map[string]any{"hosts": []any{name + ".example.test"}, "secretName": secret}}},
	}}
	obj.SetLabels(map[string]string{render.LabelName: name, render.LabelManagedBy: render.ManagedBy, render.LabelEnvironment: "staging"})
	if path != "" {
		obj.SetAnnotations(map[string]string{render.AnnotationVaultPath: path})
	}
	return obj
}

func secretData(t *testing.T, s *unstructured.Unstructured, key string) string {
	t.Helper()
	enc, _, _ := unstructured.NestedString(s.Object, "data", key)
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatalf("secret %s data %s: %v", s.GetName(), key, err)
	}
	return string(data)
}

func TestSecretsCopiesTheEntry(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	api := vaulttest.NewPair(t, "api.example.test")
	kv.Put("certs/api", api.Entry())
	src := newSource(t, kv, nil)

	ing := ingress("api", "api-tls", "certs/api")
	plain := ingress("web", "web-tls", "") // TLS from elsewhere: not Vault's business
	got, err := src.Secrets(t.Context(), []*unstructured.Unstructured{plain, ing})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d secrets, want 1", len(got))
	}
	s := got[0]
	if s.GetKind() != "Secret" || s.GetAPIVersion() != "v1" || s.GetName() != "api-tls" || s.GetNamespace() != ns {
		t.Errorf("secret is %s %s %s/%s", s.GetAPIVersion(), s.GetKind(), s.GetNamespace(), s.GetName())
	}
	if typ, _, _ := unstructured.NestedString(s.Object, "type"); typ != "kubernetes.io/tls" {
		t.Errorf("type = %q", typ)
	}
	for k, v := range ing.GetLabels() {
		if s.GetLabels()[k] != v {
			t.Errorf("label %s = %q, want the Ingress's %q", k, s.GetLabels()[k], v)
		}
	}
	if secretData(t, s, "tls.crt") != api.Cert || secretData(t, s, "tls.key") != api.Key {
		t.Error("tls.crt/tls.key are not the entry's certificate/private_key")
	}
	if a := s.GetAnnotations(); a[render.AnnotationVaultPath] != "certs/api" || a[AnnotationVaultVersion] != "1" {
		t.Errorf("annotations = %v", a)
	}
}

// Blue/green renders three Ingresses sharing one path: one resync reads it
// once, and the next resync within the cache window not at all.
func TestSecretsFromRenderedIngressesReadEachPathOnce(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	kv.Put("certs/shop", vaulttest.NewPair(t, "shop.example.test").Entry())
	src := newSource(t, kv, nil)
	const file = `project: p
environments:
  - name: staging
    namespace: team-a
    services:
      - name: shop
        version: "1.0"
        port: 8080
        external_url: shop.example.test
        tls: {vault: certs/shop}
        deployment: {method: bluegreen, active: blue}
`
	f, diags := manifest.Load("environments.bitesize", []byte(file))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	res, err := render.Render(f.Environment("staging"), f.Project, render.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := src.Secrets(t.Context(), res.Objects)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range got {
			names = append(names, s.GetName())
			if s.GetLabels()[render.LabelEnvironment] != "staging" || s.GetLabels()[render.LabelManagedBy] != render.ManagedBy {
				t.Errorf("secret %s lacks the labels pruning selects on: %v", s.GetName(), s.GetLabels())
			}
		}
		slices.Sort(names)
		if strings.Join(names, ",") != "shop-blue-tls,shop-green-tls,shop-tls" {
			t.Errorf("secrets = %v", names)
		}
	}
	if n := kv.Reads("certs/shop"); n != 1 {
		t.Errorf("vault read %d times, want 1", n)
	}
}

func TestSecretsWrongTokenNamesIngressNotToken(t *testing.T) {
	kv := vaulttest.NewKV(t, "another-token")
	kv.Put("certs/api", vaulttest.NewPair(t, "api.example.test").Entry())
	src := newSource(t, kv, nil)
	got, err := src.Secrets(t.Context(), []*unstructured.Unstructured{ingress("api", "api-tls", "certs/api")})
	if err == nil || len(got) != 0 {
		t.Fatalf("got %d secrets, err %v; want an error", len(got), err)
	}
	msg := err.Error()
	for _, want := range []string{"team-a/api", `"certs/api"`, "403", "permission denied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, vaultToken) || strings.Contains(msg, "another-token") {
		t.Errorf("error %q contains a token", msg)
	}
	var re *ReadError
	if !errors.As(err, &re) || re.Secret != "api-tls" {
		t.Errorf("error is not a *ReadError for api-tls: %#v", err)
	}
}

// A missing entry fails its Ingress only; the others get their Secrets,
// and the failed one is kept out of pruning.
func TestSecretsMissingPathFailsOnlyItsIngress(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	kv.Put("certs/api", vaulttest.NewPair(t, "api.example.test").Entry())
	src := newSource(t, kv, nil)
	got, err := src.Secrets(t.Context(), []*unstructured.Unstructured{
		ingress("api", "api-tls", "certs/api"), ingress("web", "web-tls", "certs/nothing-here"),
	})
	if len(got) != 1 || got[0].GetName() != "api-tls" {
		t.Errorf("got %d secrets, want api-tls only", len(got))
	}
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "team-a/web") || !strings.Contains(err.Error(), `"certs/nothing-here"`) {
		t.Errorf("error = %v; want not found naming ingress web and its path", err)
	}
	keep := Unavailable(err)
	if len(keep) != 1 || keep[0].GetKind() != "Secret" || keep[0].GetName() != "web-tls" || keep[0].GetNamespace() != ns {
		t.Errorf("Unavailable = %v, want the Secret web-tls", keep)
	}
}

func TestSecretsRefusesBadEntries(t *testing.T) {
	a, b := vaulttest.NewPair(t, "a.example.test"), vaulttest.NewPair(t, "b.example.test")
	cases := []struct {
		name  string
		entry map[string]any
		want  string
	}{
		{"missing key", map[string]any{"certificate": a.Cert}, `no field "private_key"`},
		{"missing certificate", map[string]any{"private_key": a.Key}, `no field "certificate"`},
		{"not a string", map[string]any{"certificate": a.Cert, "private_key": 42}, `field "private_key" is a`},
		{"not PEM", map[string]any{"certificate": "hello", "private_key": a.Key}, "not a PEM certificate"},
		{"key is a certificate", map[string]any{"certificate": a.Cert, "private_key": a.Cert}, "not a PEM private key"},
		{"key of another certificate", map[string]any{"certificate": a.Cert, "private_key": b.Key}, "do not form a pair"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kv := vaulttest.NewKV(t, vaultToken)
			kv.Put("certs/x", tc.entry)
			got, err := newSource(t, kv, nil).Secrets(t.Context(), []*unstructured.Unstructured{ingress("x", "x-tls", "certs/x")})
			if err == nil || len(got) != 0 {
				t.Fatalf("got %d secrets, err %v; want an error", len(got), err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "team-a/x") {
				t.Errorf("error %q does not say %q and name the ingress", err, tc.want)
			}
			for _, secret := range []string{a.Key, b.Key} {
				body := strings.Split(secret, "\n")[1]
				if strings.Contains(err.Error(), body) || strings.Contains(err.Error(), "BEGIN") {
					t.Errorf("error %q contains key material", err)
				}
			}
		})
	}
}

// The Secret follows Vault's copy once the cache window has passed.
func TestSecretsFollowVaultUpdates(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	old, renewed := vaulttest.NewPair(t, "api.example.test"), vaulttest.NewPair(t, "api.example.test")
	kv.Put("certs/api", old.Entry())
	src := newSource(t, kv, func(o *Options) { o.CacheTTL = 20 * time.Millisecond })
	objs := []*unstructured.Unstructured{ingress("api", "api-tls", "certs/api")}
	first, err := src.Secrets(t.Context(), objs)
	if err != nil {
		t.Fatal(err)
	}
	kv.Put("certs/api", renewed.Entry())
	cached, err := src.Secrets(t.Context(), objs)
	if err != nil {
		t.Fatal(err)
	}
	if secretData(t, first[0], "tls.crt") != old.Cert || secretData(t, cached[0], "tls.crt") != old.Cert {
		t.Error("within the cache window the certificate changed")
	}
	time.Sleep(30 * time.Millisecond)
	next, err := src.Secrets(t.Context(), objs)
	if err != nil {
		t.Fatal(err)
	}
	if secretData(t, next[0], "tls.crt") != renewed.Cert || secretData(t, next[0], "tls.key") != renewed.Key {
		t.Error("after the cache window the Secret still holds the old certificate")
	}
	if v := next[0].GetAnnotations()[AnnotationVaultVersion]; v != "2" {
		t.Errorf("version annotation = %q, want 2", v)
	}
}

// A token file is read again before each read of Vault, so a rotated token
// is used without a restart.
func TestTokenFileIsReadAgain(t *testing.T) {
	kv := vaulttest.NewKV(t, "first-token")
	kv.Put("certs/api", vaulttest.NewPair(t, "api.example.test").Entry())
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := newSource(t, kv, func(o *Options) { o.Token, o.TokenFile, o.CacheTTL = "", file, -1 })
	objs := []*unstructured.Unstructured{ingress("api", "api-tls", "certs/api")}
	if _, err := src.Secrets(t.Context(), objs); err != nil {
		t.Fatal(err)
	}
	kv.SetToken("second-token")
	if err := os.WriteFile(file, []byte("second-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Secrets(t.Context(), objs); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

func TestVerifiesVaultCertificate(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	kv.Put("certs/api", vaulttest.NewPair(t, "api.example.test").Entry())
	src := newSource(t, kv, func(o *Options) { o.CAFile = "" })
	_, err := src.Secrets(t.Context(), []*unstructured.Unstructured{ingress("api", "api-tls", "certs/api")})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v; want a certificate verification error", err)
	}
	if n := kv.Reads("certs/api"); n != 0 {
		t.Errorf("the entry was served %d times over an unverified connection", n)
	}
}

func TestSecretsRefusesPathsOutsideTheMount(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	src := newSource(t, kv, nil)
	for _, p := range []string{"../../sys/seal-status", "certs/../other", "certs//api", "certs/api?version=1", "a b"} {
		_, err := src.Secrets(t.Context(), []*unstructured.Unstructured{ingress("api", "api-tls", p)})
		if err == nil || !strings.Contains(err.Error(), "path") {
			t.Errorf("path %q: err = %v; want refused", p, err)
		}
	}
	if kv.Requests() != 0 {
		t.Errorf("%d requests reached Vault", kv.Requests())
	}
}

func TestSecretsSameSecretTwoPaths(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	kv.Put("certs/a", vaulttest.NewPair(t, "a.example.test").Entry())
	kv.Put("certs/b", vaulttest.NewPair(t, "b.example.test").Entry())
	got, err := newSource(t, kv, nil).Secrets(t.Context(), []*unstructured.Unstructured{
		ingress("a", "shared-tls", "certs/a"), ingress("b", "shared-tls", "certs/b"),
	})
	if len(got) != 1 || err == nil || !strings.Contains(err.Error(), `also filled from vault path "certs/a"`) {
		t.Errorf("got %d secrets, err %v; want one and a conflict", len(got), err)
	}
}

func TestNilSourceNamesTheMissingConfiguration(t *testing.T) {
	var src *Source
	got, err := src.Secrets(t.Context(), []*unstructured.Unstructured{ingress("web", "web-tls", ""), ingress("api", "api-tls", "certs/api")})
	if len(got) != 0 || err == nil || !strings.Contains(err.Error(), "VAULT_ADDR") || !strings.Contains(err.Error(), "team-a/api") {
		t.Errorf("got %d, err %v", len(got), err)
	}
	if _, err := src.Secrets(t.Context(), []*unstructured.Unstructured{ingress("web", "web-tls", "")}); err != nil {
		t.Errorf("no Vault Ingress: err = %v", err)
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	cases := map[string]Options{
		"VAULT_ADDR":      {Token: "t"},
		"http(s) URL":     {Address: "vault:8200", Token: "t"},
		"set VAULT_TOKEN": {Address: "https://vault.test"},
		"set one":         {Address: "https://vault.test", Token: "t", TokenFile: "/f"},
		"token file":      {Address: "https://vault.test", TokenFile: filepath.Join(t.TempDir(), "none")},
		`mount "a/../b"`:  {Address: "https://vault.test", Token: "t", Mount: "a/../b"},
		"CA file":         {Address: "https://vault.test", Token: "t", CAFile: filepath.Join(t.TempDir(), "none")},
	}
	for want, o := range cases {
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%+v) = %v; want an error saying %q", o, err, want)
		}
	}
}

func TestOptionsFromEnv(t *testing.T) {
	env := map[string]string{"VAULT_ADDR": "https://vault.test:8200", "VAULT_TOKEN_FILE": "/run/vault/token",
		"VAULT_CACERT": "/etc/vault/ca.pem", "VAULT_KV_MOUNT": "kv", "VAULT_NAMESPACE": "admin", "VAULT_SKIP_VERIFY": "false"}
	o, err := OptionsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Address: "https://vault.test:8200", TokenFile: "/run/vault/token", CAFile: "/etc/vault/ca.pem", Mount: "kv", Namespace: "admin"}
	if o != want {
		t.Errorf("OptionsFromEnv = %+v, want %+v", o, want)
	}
	if !o.Configured() || (Options{}).Configured() {
		t.Error("Configured is wrong")
	}
	env["VAULT_SKIP_VERIFY"] = "maybe"
	if _, err := OptionsFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("VAULT_SKIP_VERIFY=maybe accepted")
	}
}

// A Vault that does not answer costs one timeout per call, not one per path.
func TestUnreachableVaultIsTriedOncePerCall(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	src, err := New(Options{Address: hang.URL, Token: vaultToken, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{
		ingress("a", "a-tls", "certs/a"), ingress("b", "b-tls", "certs/b"), ingress("c", "c-tls", "certs/c"),
	}
	got, err := src.Secrets(t.Context(), objs)
	if len(got) != 0 || err == nil {
		t.Fatalf("got %d secrets, err %v", len(got), err)
	}
	if n := len(Unavailable(err)); n != 3 {
		t.Errorf("%d Secrets kept from pruning, want 3", n)
	}
	for _, name := range []string{"team-a/a", "team-a/b", "team-a/c", "unreachable"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not say %q", err, name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 1 {
		t.Errorf("vault was asked %d times, want 1", requests)
	}
}

// A path may name the mount as `vault kv get` does, or as the HTTP API does.
func TestSecretsPathWithMount(t *testing.T) {
	kv := vaulttest.NewKV(t, vaultToken)
	pair := vaulttest.NewPair(t, "api.example.test")
	kv.Put("certs/api", pair.Entry())
	src := newSource(t, kv, func(o *Options) { o.CacheTTL = -1 })
	for _, path := range []string{"certs/api", "secret/certs/api", "secret/data/certs/api"} {
		got, err := src.Secrets(t.Context(), []*unstructured.Unstructured{ingress("api", "api-tls", path)})
		if err != nil || len(got) != 1 || secretData(t, got[0], "tls.crt") != pair.Cert {
			t.Errorf("path %q: %v, %d secrets", path, err, len(got))
		}
	}
}
