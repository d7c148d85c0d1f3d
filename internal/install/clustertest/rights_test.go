package clustertest

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/envop/envop/internal/testcluster"
)

// allowList is everything the envop ServiceAccount may do in its namespace,
// as `kubectl auth can-i --list` prints it (resource, non-resource URLs,
// resource names, verbs). The first block is the operator's Role
// (docs/install.md says why each is needed); the second is what every
// authenticated user gets from the cluster's default roles
// (system:basic-user, system:discovery, system:public-info-viewer). Nothing
// else may appear: a new line here is a new right, reviewed in the diff.
var allowList = append([]string{
	// The Role: exactly operator.RequiredRules().
	"configmaps [] [] [create delete get list patch update watch]",
	"cronjobs.batch [] [] [create delete list patch watch]",
	"deployments.apps [] [] [create delete list patch watch]",
	"events [] [] [create patch]",
	"horizontalpodautoscalers.autoscaling [] [] [create delete list patch watch]",
	"ingresses.networking.k8s.io [] [] [create delete list patch watch]",
	"jobs.batch [] [] [create delete list patch watch]",
	"leases.coordination.k8s.io [] [] [create get update]",
	"persistentvolumeclaims [] [] [create delete list patch watch]",
	"pods [] [] [get list watch]",
	"pods/log [] [] [get]",
	"replicasets.apps [] [] [list watch]",
	"rolebindings.rbac.authorization.k8s.io [] [] [create delete list patch watch]",
	"roles.rbac.authorization.k8s.io [] [] [create delete list patch watch]",
	"secrets [] [] [create delete list patch watch]",
	"serviceaccounts [] [] [create delete list patch watch]",
	"services [] [] [create delete list patch watch]",
	"statefulsets.apps [] [] [create delete list patch watch]",
}, everyUser...)

// accessAllowList is what the account may do when installed with --access:
// the Role of operator.RequiredRules() merged with render.AccessRules(), and
// what every authenticated user gets. Against allowList: watch and get on
// what the access Roles read, delete pods, events.k8s.io, endpoints, and
// pods/exec and pods/portforward.
var accessAllowList = append([]string{
	"configmaps [] [] [create delete get list patch update watch]",
	"cronjobs.batch [] [] [create delete get list patch watch]",
	"deployments.apps [] [] [create delete get list patch watch]",
	"endpoints [] [] [get list watch]",
	"events [] [] [create get list patch watch]",
	"events.events.k8s.io [] [] [get list watch]",
	"horizontalpodautoscalers.autoscaling [] [] [create delete get list patch watch]",
	"ingresses.networking.k8s.io [] [] [create delete get list patch watch]",
	"jobs.batch [] [] [create delete get list patch watch]",
	"leases.coordination.k8s.io [] [] [create get update]",
	"persistentvolumeclaims [] [] [create delete get list patch watch]",
	"pods [] [] [delete get list watch]",
	"pods/exec [] [] [create get]",
	"pods/log [] [] [get]",
	"pods/portforward [] [] [create get]",
	"replicasets.apps [] [] [get list watch]",
	"rolebindings.rbac.authorization.k8s.io [] [] [create delete list patch watch]",
	"roles.rbac.authorization.k8s.io [] [] [create delete list patch watch]",
	"secrets [] [] [create delete list patch watch]",
	"serviceaccounts [] [] [create delete list patch watch]",
	"services [] [] [create delete get list patch watch]",
	"statefulsets.apps [] [] [create delete get list patch watch]",
}, everyUser...)

// kindsAllowList is what the account may do when installed with --istio
// and --helm-charts: allowList and the apply verbs on the Istio kinds and
// the HelmChart kind, nothing more.
var kindsAllowList = append([]string{
	"gateways.networking.istio.io [] [] [create delete list patch watch]",
	"helmcharts.helm.kubedex.com [] [] [create delete list patch watch]",
	"serviceentries.networking.istio.io [] [] [create delete list patch watch]",
	"virtualservices.networking.istio.io [] [] [create delete list patch watch]",
}, allowList...)

// everyUser is what every authenticated user gets from the cluster's
// default ClusterRoles.
var everyUser = []string{
	"clustertrustbundles.certificates.k8s.io [] [] [get list watch]",
	"selfsubjectaccessreviews.authorization.k8s.io [] [] [create]",
	"selfsubjectreviews.authentication.k8s.io [] [] [create]",
	"selfsubjectrulesreviews.authorization.k8s.io [] [] [create]",
	"[/.well-known/openid-configuration/] [] [get]",
	"[/.well-known/openid-configuration] [] [get]",
	"[/api/*] [] [get]",
	"[/api] [] [get]",
	"[/apis/*] [] [get]",
	"[/apis] [] [get]",
	"[/healthz] [] [get]",
	"[/livez] [] [get]",
	"[/openapi/*] [] [get]",
	"[/openapi] [] [get]",
	"[/openid/v1/jwks/] [] [get]",
	"[/openid/v1/jwks] [] [get]",
	"[/readyz] [] [get]",
	"[/version/] [] [get]",
	"[/version] [] [get]",
}

func TestServiceAccountRights(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		allow []string
	}{
		{"plain", nil, allowList},
		{"access", []string{"--access"}, accessAllowList},
		{"istio and helm charts", []string{"--istio", "--helm-charts"}, kindsAllowList},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := testcluster.Namespace(t)
			apply(t, decode(t, envopInstall(t, append([]string{"--namespace", ns}, tt.args...)...)), "Deployment")
			t.Run("impersonated", func(t *testing.T) {
				got := canIList(kubectl(t, "auth", "can-i", "--list", "-n", ns, "--as", "system:serviceaccount:"+ns+":envop"))
				compareRights(t, got, tt.allow)
			})
			t.Run("own token", func(t *testing.T) {
				// The token also carries the groups system:serviceaccounts and
				// system:serviceaccounts:NS, which impersonation leaves out.
				got := canIList(kubectl(t, "--kubeconfig", tokenKubeconfig(t, ns), "auth", "can-i", "--list", "-n", ns))
				compareRights(t, got, tt.allow)
			})
		})
	}
}

// canIList turns kubectl's table into one normalised line per row, without
// the duplicates several default ClusterRoles produce.
func canIList(out string) []string {
	var rows []string
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i == 0 || strings.TrimSpace(line) == "" {
			continue // the header
		}
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	slices.Sort(rows)
	return slices.Compact(rows)
}

func compareRights(t *testing.T, got, allow []string) {
	t.Helper()
	want := slices.Sorted(slices.Values(allow))
	for _, row := range got {
		// Non-resource URL patterns (/api/*) are the cluster's discovery
		// defaults; a wildcard anywhere else is a right nobody reviewed.
		if strings.Contains(row, "*") && !strings.HasPrefix(row, "[/") {
			t.Errorf("wildcard right: %s", row)
		}
		if !slices.Contains(want, row) {
			t.Errorf("right not in the allow-list: %s", row)
		}
	}
	for _, row := range want {
		if !slices.Contains(got, row) {
			t.Errorf("allow-listed right missing: %s", row)
		}
	}
	if t.Failed() {
		t.Logf("kubectl auth can-i --list:\n%s", strings.Join(got, "\n"))
	}
}

// tokenKubeconfig writes a kubeconfig holding only the account's token.
func tokenKubeconfig(t *testing.T, ns string) string {
	t.Helper()
	cfg, _ := testcluster.TokenClient(t, ns, "envop")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envop"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["envop"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "envop", Namespace: ns}
	kc.CurrentContext = "envop"
	path := filepath.Join(t.TempDir(), "envop.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServiceAccountConfined checks the account is refused outside its
// namespace and everything cluster-scoped.
func TestServiceAccountConfined(t *testing.T) {
	ns := testcluster.Namespace(t)
	other := testcluster.Namespace(t)
	apply(t, decode(t, envopInstall(t, "--namespace", ns)), "Deployment")
	_, client := testcluster.TokenClient(t, ns, "envop")
	ctx, list := t.Context(), metav1.ListOptions{}
	if _, err := client.CoreV1().ConfigMaps(ns).List(ctx, list); err != nil {
		t.Fatalf("own namespace refused: %v", err) // the control: the token works
	}
	for what, call := range map[string]func() error{
		"list nodes":                  func() error { _, err := client.CoreV1().Nodes().List(ctx, list); return err },
		"list namespaces":             func() error { _, err := client.CoreV1().Namespaces().List(ctx, list); return err },
		"list secrets in kube-system": func() error { _, err := client.CoreV1().Secrets("kube-system").List(ctx, list); return err },
		"list secrets cluster-wide":   func() error { _, err := client.CoreV1().Secrets("").List(ctx, list); return err },
		"list pods cluster-wide":      func() error { _, err := client.CoreV1().Pods("").List(ctx, list); return err },
		"list configmaps elsewhere":   func() error { _, err := client.CoreV1().ConfigMaps(other).List(ctx, list); return err },
		"list deployments elsewhere":  func() error { _, err := client.AppsV1().Deployments(other).List(ctx, list); return err },
		"list clusterroles":           func() error { _, err := client.RbacV1().ClusterRoles().List(ctx, list); return err },
		"create a namespace": func() error {
			_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}}, metav1.CreateOptions{})
			return err
		},
	} {
		if err := call(); !isForbidden(err) {
			t.Errorf("%s: want forbidden, got %v", what, err)
		}
	}
}
