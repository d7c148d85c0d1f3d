package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func secret(data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "db", "namespace": "ns"},
		"data":     data,
	}}
}

// TestDescribeMasksSecrets: a diff tells which values of a Secret change,
// never what they are.
func TestDescribeMasksSecrets(t *testing.T) {
	live := secret(map[string]any{"user": "YWRtaW4=", "password": "b2xkLXNlY3JldA=="})
	dry := secret(map[string]any{"user": "YWRtaW4=", "password": "bmV3LXNlY3JldA=="})
	action, diff, err := describe(live, dry)
	if err != nil {
		t.Fatal(err)
	}
	if action != DiffUpdate {
		t.Fatalf("action %s, want update", action)
	}
	for _, value := range []string{"YWRtaW4=", "b2xkLXNlY3JldA==", "bmV3LXNlY3JldA=="} {
		if strings.Contains(diff, value) {
			t.Errorf("the diff shows a value of the Secret:\n%s", diff)
		}
	}
	for _, want := range []string{"-  password: '*** (before)'", "+  password: '*** (after)'", "   user: '***'"} {
		if !strings.Contains(diff, want) {
			t.Errorf("the diff lacks %q:\n%s", want, diff)
		}
	}
	if action, _, _ := describe(live, live.DeepCopy()); action != DiffUnchanged {
		t.Errorf("same Secret: %s, want unchanged", action)
	}
	action, diff, _ = describe(nil, dry)
	if action != DiffCreate || strings.Contains(diff, "bmV3") || !strings.Contains(diff, "+  password: '***") {
		t.Errorf("created Secret: %s\n%s", action, diff)
	}
	if live.Object["data"].(map[string]any)["password"] != "b2xkLXNlY3JldA==" {
		t.Error("describe changed the live object")
	}
}
