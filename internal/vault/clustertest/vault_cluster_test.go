package clustertest

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/vault"
	"github.com/envop/envop/internal/vault/vaulttest"
)

func TestMain(m *testing.M) { os.Exit(testcluster.SharedMain(m)) }

const token = "hvs.cluster-test-token-81c4"

const withVault = `project: p
environments:
  - name: staging
    namespace: NS
    services:
      - name: shop
        version: "1.0"
        port: 8080
        external_url: shop.example.test
        tls: {vault: certs/shop}
`

const withoutURL = `project: p
environments:
  - name: staging
    namespace: NS
    services:
      - name: shop
        version: "1.0"
        port: 8080
`

// operatorEnv applies and prunes like the controller, with the Role the
// operator is installed with.
type operatorEnv struct {
	t       *testing.T
	ns      string
	applier *apply.Applier
	client  kubernetes.Interface
	src     *vault.Source
}

func render1(t *testing.T, ns, file string) []*unstructured.Unstructured {
	t.Helper()
	f, diags := manifest.Load("environments.bitesize", []byte(strings.ReplaceAll(file, "NS", ns)))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	res, err := render.Render(f.Environment("staging"), f.Project, render.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return res.Objects
}

// sync is the controller's render → secrets → apply → prune for file.
func (e *operatorEnv) sync(ctx context.Context, file string) error {
	e.t.Helper()
	objs := render1(e.t, e.ns, file)
	secrets, vaultErr := e.src.Secrets(ctx, objs)
	objs = append(objs, secrets...)
	if err := e.applier.Apply(ctx, objs, nil).Err(); err != nil {
		e.t.Fatalf("apply: %v", err)
	}
	if _, err := e.applier.Prune(ctx, append(slices.Clone(objs), vault.Unavailable(vaultErr)...)); err != nil {
		e.t.Fatalf("prune: %v", err)
	}
	return vaultErr
}

func (e *operatorEnv) secret(ctx context.Context) (crt, key string, ok bool) {
	e.t.Helper()
	s, err := e.client.CoreV1().Secrets(e.ns).Get(ctx, "shop-tls", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", "", false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if s.Type != "kubernetes.io/tls" {
		e.t.Errorf("secret type = %q", s.Type)
	}
	return string(s.Data["tls.crt"]), string(s.Data["tls.key"]), true
}

func TestVaultSecretLifecycle(t *testing.T) {
	ctx := t.Context()
	ns := testcluster.Namespace(t)
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", operator.RequiredRules())
	client := testcluster.Get(t).Client // the operator itself may not read Secrets back
	a, err := apply.New(cfg, apply.Options{Namespace: ns, Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	kv := vaulttest.NewKV(t, token)
	first := vaulttest.NewPair(t, "shop.example.test")
	kv.Put("certs/shop", first.Entry())
	src, err := vault.New(vault.Options{Address: kv.URL, Token: token, CAFile: kv.CAFile, CacheTTL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &operatorEnv{t: t, ns: ns, applier: a, client: client, src: src}

	if err := e.sync(ctx, withVault); err != nil {
		t.Fatal(err)
	}
	if crt, key, ok := e.secret(ctx); !ok || crt != first.Cert || key != first.Key {
		t.Fatalf("after the first sync: secret present %v, holds Vault's pair %v", ok, crt == first.Cert && key == first.Key)
	}

	// Vault refuses the token: the sync reports it, and the Secret keeps
	// its last good content instead of being pruned.
	kv.SetToken("rotated-elsewhere")
	time.Sleep(5 * time.Millisecond)
	err = e.sync(ctx, withVault)
	var re *vault.ReadError
	if !errors.As(err, &re) || re.Ingress != "shop" {
		t.Fatalf("sync with a refused token: err = %v", err)
	}
	if crt, _, ok := e.secret(ctx); !ok || crt != first.Cert {
		t.Fatalf("during the outage: secret present %v, still the last good one %v", ok, crt == first.Cert)
	}

	// Renewed in Vault: the next sync copies it.
	kv.SetToken(token)
	renewed := vaulttest.NewPair(t, "shop.example.test")
	kv.Put("certs/shop", renewed.Entry())
	time.Sleep(5 * time.Millisecond)
	if err := e.sync(ctx, withVault); err != nil {
		t.Fatal(err)
	}
	if crt, key, ok := e.secret(ctx); !ok || crt != renewed.Cert || key != renewed.Key {
		t.Fatalf("after renewal: secret present %v, holds the renewed pair %v", ok, crt == renewed.Cert && key == renewed.Key)
	}

	// The URL goes away: the Secret is pruned with its Ingress.
	if err := e.sync(ctx, withoutURL); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := e.secret(ctx); ok {
		t.Error("the Secret outlived its Ingress")
	}
}
