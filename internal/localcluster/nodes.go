package localcluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeAnnotation marks the nodes kwok manages.
const NodeAnnotation = "kwok.x-k8s.io/node"

// StorageClass is the default class; kwok provisions and binds its claims.
const StorageClass = "kwok-volume"

// GPU node facts, for tests of accelerator scheduling and lint.
const (
	GPUResource  = "nvidia.com/gpu"
	GPUTaintKey  = "nvidia.com/gpu"
	GPULabelKey  = "accelerator"
	GPULabelName = "nvidia"
)

// Node is a fake node to register.
type Node struct {
	Name     string
	Labels   map[string]string
	Taints   []corev1.Taint
	Capacity corev1.ResourceList
}

// DefaultNodes are two general nodes sized like large cloud machines and
// one tainted GPU node with four devices. Tests run many environments at
// once, and the manifest's default limits (docs/manifest.md) (2Gi, so a 2Gi memory request) add up.
func DefaultNodes() []Node {
	general := func() corev1.ResourceList {
		return corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("64"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("250"),
		}
	}
	gpu := general()
	gpu[GPUResource] = resource.MustParse("4")
	return []Node{
		{Name: "kwok-node-0", Capacity: general()},
		{Name: "kwok-node-1", Capacity: general()},
		{
			Name:     "kwok-gpu-0",
			Labels:   map[string]string{GPULabelKey: GPULabelName},
			Taints:   []corev1.Taint{{Key: GPUTaintKey, Value: "present", Effect: corev1.TaintEffectNoSchedule}},
			Capacity: gpu,
		},
	}
}

func (c *Cluster) registerNodes(ctx context.Context, cfg Config) error {
	if err := c.createStorageClass(ctx); err != nil {
		return err
	}
	for _, n := range cfg.Nodes {
		if err := c.createNode(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) createStorageClass(ctx context.Context) error {
	bind := storagev1.VolumeBindingImmediate
	reclaim := corev1.PersistentVolumeReclaimDelete
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        StorageClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       "kwok.x-k8s.io/volume",
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &bind,
	}
	_, err := c.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create storage class: %w", err)
	}
	return nil
}

func (c *Cluster) createNode(ctx context.Context, n Node) error {
	labels := map[string]string{
		"kubernetes.io/hostname": n.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	for k, v := range n.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.Name,
			Labels:      labels,
			Annotations: map[string]string{NodeAnnotation: "fake"},
		},
		Spec:   corev1.NodeSpec{Taints: n.Taints},
		Status: corev1.NodeStatus{Capacity: n.Capacity, Allocatable: n.Capacity},
	}
	_, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", n.Name, err)
	}
	return nil
}

// waitReady waits for every node to be Ready (kwok runs) and for the
// default ServiceAccount (the controller manager runs).
func (c *Cluster) waitReady(ctx context.Context, cfg Config) error {
	err := c.waitFor(ctx, cfg, kwokName, 60*time.Second, func(ctx context.Context) error {
		return nodesReady(ctx, c, len(cfg.Nodes))
	})
	if err != nil {
		return err
	}
	return c.waitFor(ctx, cfg, kcmName, 60*time.Second, func(ctx context.Context) error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

func nodesReady(ctx context.Context, c *Cluster, want int) error {
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready < want {
		return fmt.Errorf("%d of %d nodes ready", ready, want)
	}
	return nil
}
