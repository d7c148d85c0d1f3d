package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/envop/envop/internal/localcluster"
	"github.com/envop/envop/internal/operator"
)

// benchNodes are four large fake nodes (8,000 pods: two namespaces of the
// cost curve's 2,000 services, and room): the default plane's 110 pods per
// node would leave an environment of hundreds of services Unschedulable.
func benchNodes() []localcluster.Node {
	var nodes []localcluster.Node
	for i := range 4 {
		nodes = append(nodes, localcluster.Node{
			Name: fmt.Sprintf("kwok-node-%d", i),
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("256"),
				corev1.ResourceMemory: resource.MustParse("1Ti"),
				corev1.ResourcePods:   resource.MustParse("2000"),
			},
		})
	}
	return nodes
}

func (b *bench) createNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := b.cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// serviceAccount gives the operator in ns exactly operator.RequiredRules()
// and returns a kubeconfig holding the account's token.
func (b *bench) serviceAccount(ctx context.Context, ns, kubeconfig string) error {
	c := b.cluster.Client
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "envop"}}
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service account: %w", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "envop"}, Rules: operator.RequiredRules()}
	if _, err := c.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create role: %w", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "envop"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "envop"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "envop", Namespace: ns}},
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create role binding: %w", err)
	}
	return b.writeKubeconfig(ctx, ns, kubeconfig)
}

func (b *bench) writeKubeconfig(ctx context.Context, ns, path string) error {
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := b.cluster.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "envop",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("request a token for the operator: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: b.cluster.Config.Host, CertificateAuthorityData: b.cluster.Config.CAData}
	cfg.AuthInfos["envop"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["envop"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "envop", Namespace: ns}
	cfg.CurrentContext = "envop"
	return clientcmd.WriteToFile(*cfg, path)
}

// settle waits until every Deployment in ns has rolled out, so the next
// measurement does not share the machine with the last one's pods.
func (b *bench) settle(ctx context.Context, ns string, want int) error {
	return poll(ctx, patienceFor(want), time.Second, "deployments in "+ns+" available", func(ctx context.Context) (bool, error) {
		list, err := b.cluster.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		done := 0
		for _, d := range list.Items {
			s := d.Status
			if s.ObservedGeneration >= d.Generation && d.Spec.Replicas != nil &&
				s.UpdatedReplicas == *d.Spec.Replicas && s.AvailableReplicas == *d.Spec.Replicas && s.Replicas == *d.Spec.Replicas {
				done++
			}
		}
		return done == want && len(list.Items) == want, nil
	})
}

// deleteNamespaces removes a run's namespaces and waits until they are gone,
// so the next run starts on an idle cluster of the same size.
func (b *bench) deleteNamespaces(ctx context.Context, names ...string) {
	nss := b.cluster.Client.CoreV1().Namespaces()
	for _, name := range names {
		if err := nss.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			logf("delete namespace %s: %v", name, err)
		}
	}
	for _, name := range names {
		err := poll(ctx, 5*time.Minute, time.Second, "namespace "+name+" deleted", func(ctx context.Context) (bool, error) {
			_, err := nss.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			logf("%v (continuing)", err)
		}
	}
}

// poll checks cond every interval until it holds, it fails, or timeout.
func poll(parent context.Context, timeout, every time.Duration, what string, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		var stop permanent
		if errors.As(err, &stop) {
			return fmt.Errorf("%s: %w", what, stop.error)
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("%s: not after %s: %w", what, timeout, err)
		case <-time.After(every):
		}
	}
}

// permanent is an error of a poll condition that ends the poll at once.
type permanent struct{ error }

// patienceFor bounds each wait of a run of services: ten minutes and 300 ms
// more per service, since the controllers pace a rollout of thousands.
func patienceFor(services int) time.Duration {
	return 10*time.Minute + time.Duration(services)*300*time.Millisecond
}

func (t *trial) patience() time.Duration { return patienceFor(t.services) }
