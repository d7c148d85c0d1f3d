package e2e

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/vault"
	"github.com/envop/envop/internal/vault/vaulttest"
)

const withVaultTLS = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: web
        version: "1.0.0"
        port: 8080
        external_url: web.example.test
        ssl: true
        tls:
          vault: secret/data/certs/web
`

// TestVaultCertificateBecomesSecret: the operator copies the certificate
// from (a stand-in for) Vault's KV v2 into the Ingress's TLS Secret.
func TestVaultCertificateBecomesSecret(t *testing.T) {
	t.Parallel()
	kv := vaulttest.NewKV(t, "vault-token")
	pair := vaulttest.NewPair(t, "web.example.test")
	kv.Put("certs/web", pair.Entry())
	e := newEnvWith(t, withVaultTLS, func(o *operator.Options) {
		o.Vault = vault.Options{Address: kv.URL, Token: "vault-token", CAFile: kv.CAFile}
		o.Policy.VaultPathPrefix = "certs"
	})
	c := testcluster.Get(t)
	e.eventually(30*time.Second, "TLS Secret written", func() (bool, string) {
		s, err := c.Client.CoreV1().Secrets(e.ns).Get(t.Context(), "web-tls", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return string(s.Data["tls.crt"]) == pair.Cert && s.Type == "kubernetes.io/tls", string(s.Type)
	})
	if st := e.status(); st.Sync.Status != "synced" {
		t.Fatalf("sync %+v", st.Sync)
	}
}
