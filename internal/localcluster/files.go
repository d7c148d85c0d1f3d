package localcluster

import (
	_ "embed"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

//go:embed kwok.yaml
var kwokConfig string

// writePKI creates the plane's CA, serving and client certificates, the
// service-account signing key, and a kubeconfig per client identity. Each
// component gets its own identity so RBAC applies as in a real cluster.
func writePKI(dir string, apiPort int) error {
	pki := filepath.Join(dir, "pki")
	ca, err := newCA()
	if err != nil {
		return err
	}
	if err := ca.write(pki, "ca"); err != nil {
		return err
	}
	serving, err := newServingCert(ca,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")})
	if err != nil {
		return err
	}
	if err := serving.write(pki, "apiserver"); err != nil {
		return err
	}
	kubeletClient, err := newClientCert(ca, "kube-apiserver-kubelet-client", "system:masters")
	if err != nil {
		return err
	}
	if err := kubeletClient.write(pki, "apiserver-kubelet-client"); err != nil {
		return err
	}
	// Only the key pair matters for signing service-account tokens.
	sa, err := newCA()
	if err != nil {
		return err
	}
	if err := writeSAKeys(pki, sa); err != nil {
		return err
	}
	return writeKubeconfigs(dir, ca, apiPort)
}

func writeSAKeys(pki string, sa *keyPair) error {
	keyPEM, err := sa.keyPEM()
	if err != nil {
		return err
	}
	pubPEM, err := sa.publicKeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pki, "sa.key"), keyPEM, 0o600); err != nil {
		return fmt.Errorf("write service-account key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(pki, "sa.pub"), pubPEM, 0o600); err != nil {
		return fmt.Errorf("write service-account public key: %w", err)
	}
	return nil
}

// identities maps each kubeconfig to the user and groups it authenticates as.
var identities = []struct {
	file   string
	user   string
	groups []string
}{
	{AdminKubeconfig, "envop-admin", []string{"system:masters"}},
	{"controller-manager.kubeconfig", "system:kube-controller-manager", nil},
	{"scheduler.kubeconfig", "system:kube-scheduler", nil},
	{"kwok.kubeconfig", "kwok", []string{"system:masters"}},
}

func writeKubeconfigs(dir string, ca *keyPair, apiPort int) error {
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	for _, id := range identities {
		cert, err := newClientCert(ca, id.user, id.groups...)
		if err != nil {
			return err
		}
		keyPEM, err := cert.keyPEM()
		if err != nil {
			return err
		}
		cfg := kubeconfig(server, ca.certPEM(), cert.certPEM(), keyPEM, id.user)
		if err := clientcmd.WriteToFile(*cfg, filepath.Join(dir, id.file)); err != nil {
			return fmt.Errorf("write %s: %w", id.file, err)
		}
	}
	return nil
}

func kubeconfig(server string, caPEM, certPEM, keyPEM []byte, user string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envop-local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["envop-local"] = &clientcmdapi.Context{Cluster: "envop-local", AuthInfo: user}
	cfg.CurrentContext = "envop-local"
	return cfg
}

// writeKwokConfig writes kwok's stages and the container logs it serves
// through the pods/log API: a plain current log and, for containers that
// restarted, the log of the run that crashed.
func writeKwokConfig(dir string) error {
	logs := filepath.Join(dir, "sim-logs")
	now := time.Now().UTC()
	current := criLog(now,
		"starting (simulated container on a kwok node)",
		"listening on :8080",
		"ready to serve requests",
	)
	previous := criLog(now,
		"starting (simulated container on a kwok node)",
		"loading configuration",
		"fatal: simulated crash: exiting with status 1",
	)
	if err := os.WriteFile(filepath.Join(logs, "current.log"), []byte(current), 0o600); err != nil {
		return fmt.Errorf("write simulated log: %w", err)
	}
	if err := os.WriteFile(filepath.Join(logs, "previous.log"), []byte(previous), 0o600); err != nil {
		return fmt.Errorf("write simulated log: %w", err)
	}
	config := strings.ReplaceAll(kwokConfig, "LOGS_DIR", logs)
	if err := os.WriteFile(filepath.Join(dir, "kwok.yaml"), []byte(config), 0o600); err != nil {
		return fmt.Errorf("write kwok config: %w", err)
	}
	return nil
}

// criLog formats lines in the CRI log format kubelets (and kwok) serve.
func criLog(at time.Time, lines ...string) string {
	var b strings.Builder
	for i, line := range lines {
		ts := at.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, "%s stdout F %s\n", ts, line)
	}
	return b.String()
}
