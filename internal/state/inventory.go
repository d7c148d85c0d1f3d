package state

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The inventory ConfigMap: envop-inventory-<environment>, labelled
// LabelInventory=<environment>, a reference a line under inventoryKey.
const (
	LabelInventory  = "envop.io/inventory"
	InventoryPrefix = "envop-inventory-"
	inventoryKey    = "objects"
)

// Inventory keeps the references of the objects envop applied for one
// environment in a ConfigMap of its namespace (apply.InventoryStore).
type Inventory struct {
	client      kubernetes.Interface
	namespace   string
	environment string
}

// NewInventory returns the inventory of one environment.
func NewInventory(client kubernetes.Interface, namespace, environment string) *Inventory {
	return &Inventory{client: client, namespace: namespace, environment: environment}
}

func (i *Inventory) name() string { return InventoryPrefix + i.environment }

// LoadInventory reads the references; found is false when none were
// recorded yet.
func (i *Inventory) LoadInventory(ctx context.Context) ([]string, bool, error) {
	cm, err := i.client.CoreV1().ConfigMaps(i.namespace).Get(ctx, i.name(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read inventory %s: %w", i.name(), err)
	}
	if cm.Labels[LabelInventory] != i.environment {
		return nil, false, fmt.Errorf("inventory %s: label %s is %q, want %q: not envop's", i.name(), LabelInventory,
			cm.Labels[LabelInventory], i.environment)
	}
	var refs []string
	for _, line := range strings.Split(cm.Data[inventoryKey], "\n") {
		if line = strings.TrimSpace(line); line != "" {
			refs = append(refs, line)
		}
	}
	return refs, true, nil
}

// SaveInventory replaces the recorded references with refs. One operator
// works on an environment at a time (leader election), and what it writes
// is the whole truth, so the write is unconditional.
func (i *Inventory) SaveInventory(ctx context.Context, refs []string) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: i.name(), Namespace: i.namespace,
			Labels: map[string]string{
				LabelInventory:                 i.environment,
				"app.kubernetes.io/component":  "envop-inventory",
				"app.kubernetes.io/created-by": "envop",
			},
		},
		Data: map[string]string{inventoryKey: strings.Join(refs, "\n")},
	}
	cms := i.client.CoreV1().ConfigMaps(i.namespace)
	_, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "envop"})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "envop"})
	}
	if err != nil {
		return fmt.Errorf("write inventory %s: %w", i.name(), err)
	}
	return nil
}
