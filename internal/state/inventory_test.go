package state

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

// TestInventoryRoundTrip: nothing is found before the first save; saves
// create, then replace; a ConfigMap of the inventory's name that is not
// envop's is an error, never read as an inventory.
func TestInventoryRoundTrip(t *testing.T) {
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	inv := NewInventory(c.Client, ns, "dev")
	if refs, found, err := inv.LoadInventory(t.Context()); err != nil || found || len(refs) != 0 {
		t.Fatalf("before any save: %v %v %v", refs, found, err)
	}
	for _, want := range [][]string{{"Deployment.apps/web", "Service/web"}, {"Service/web"}, nil} {
		if err := inv.SaveInventory(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, found, err := NewInventory(c.Client, ns, "dev").LoadInventory(t.Context())
		if err != nil || !found || !slices.Equal(got, want) {
			t.Errorf("saved %v, loaded %v (found %v, %v)", want, got, found, err)
		}
	}

	forged := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: InventoryPrefix + "prod"},
		Data: map[string]string{inventoryKey: "Service/envop"}}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), forged, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewInventory(c.Client, ns, "prod").LoadInventory(t.Context()); err == nil || !strings.Contains(err.Error(), "not envop's") {
		t.Errorf("a ConfigMap without the inventory label: %v", err)
	}
}
