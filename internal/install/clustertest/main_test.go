package clustertest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/cli"
	"github.com/envop/envop/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }

// envopInstall runs `envop install` in process and returns its stdout.
func envopInstall(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(t.Context(), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, append([]string{"install"}, args...))
	if code != cli.ExitOK {
		t.Fatalf("envop install exited %d: %s", code, errOut.String())
	}
	return out.String()
}

// decode splits YAML documents into objects, skipping comment-only ones.
func decode(t *testing.T, data string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(data, "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs
}

// apply server-side applies objects as the admin, as `kubectl apply
// --server-side` would; dryRun kinds are validated by the API server
// (admission and schema included) but not stored.
func apply(t *testing.T, objs []*unstructured.Unstructured, dryRun ...string) {
	t.Helper()
	cfg := testcluster.Get(t).Config
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("map %s: %v", gvk, err)
		}
		data, err := obj.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		opts := metav1.PatchOptions{FieldManager: "envop-install-test", Force: new(true)}
		for _, k := range dryRun {
			if k == obj.GetKind() {
				opts.DryRun = []string{metav1.DryRunAll}
			}
		}
		_, err = client.Resource(m.Resource).Namespace(obj.GetNamespace()).Patch(t.Context(), obj.GetName(), types.ApplyPatchType, data, opts)
		if err != nil {
			t.Fatalf("apply %s %s/%s: %v", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s in the manifests", kind)
	return nil
}

// kubectl runs the control plane's kubectl with the admin kubeconfig.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(bin, "kubectl"), append([]string{"--kubeconfig", testcluster.Get(t).Kubeconfig}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func isForbidden(err error) bool { return apierrors.IsForbidden(err) }
