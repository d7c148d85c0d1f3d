package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/envop/envop/internal/localcluster"
	"github.com/envop/envop/internal/operator"
)

// demo is what prepare made for the operator.
type demo struct {
	work       string
	repo       string
	kubeconfig string
	tokenFile  string
	token      string
}

// prepare creates the namespace, the operator's ServiceAccount with only
// the namespaced rights it needs, a kubeconfig holding that account's token,
// the API token file and the git repository.
func prepare(ctx context.Context, c *localcluster.Cluster, work, sample string) (*demo, error) {
	d := &demo{work: work, repo: filepath.Join(work, "repo"), kubeconfig: filepath.Join(work, "envop.kubeconfig"), tokenFile: filepath.Join(work, "tokens")}
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	steps := []func(context.Context, *localcluster.Cluster) error{d.namespace, d.serviceAccount, d.writeKubeconfig}
	for _, step := range steps {
		if err := step(ctx, c); err != nil {
			return nil, err
		}
	}
	if err := d.writeTokens(); err != nil {
		return nil, err
	}
	return d, d.gitRepo(sample)
}

func (d *demo) namespace(ctx context.Context, c *localcluster.Cluster) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace: %w", err)
	}
	return nil
}

func (d *demo) serviceAccount(ctx context.Context, c *localcluster.Cluster) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "envop"}}
	if _, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service account: %w", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "envop"}, Rules: operator.RequiredRules()}
	if _, err := c.Client.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create role: %w", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "envop"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "envop"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "envop", Namespace: namespace}},
	}
	if _, err := c.Client.RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create role binding: %w", err)
	}
	return nil
}

// writeKubeconfig gives the operator the account's token and nothing more.
func (d *demo) writeKubeconfig(ctx context.Context, c *localcluster.Cluster) error {
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, "envop",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("request a token for the operator: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	cfg.AuthInfos["envop"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["envop"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "envop", Namespace: namespace}
	cfg.CurrentContext = "envop"
	return clientcmd.WriteToFile(*cfg, d.kubeconfig)
}

func (d *demo) writeTokens() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	d.token = "demo-" + hex.EncodeToString(b)
	return os.WriteFile(d.tokenFile, []byte(d.token+" demo admin\n"), 0o600)
}

// gitRepo commits the sample file to a fresh repository.
func (d *demo) gitRepo(sample string) error {
	data, err := os.ReadFile(sample)
	if err != nil {
		return fmt.Errorf("read the sample: %w", err)
	}
	repo, err := git.PlainInit(d.repo, false)
	if err != nil {
		return fmt.Errorf("create the demo repository: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d.repo, "environments.bitesize"), data, 0o644); err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if _, err := wt.Add("environments.bitesize"); err != nil {
		return err
	}
	sig := &object.Signature{Name: "demo", Email: "demo@envop.invalid", When: time.Now()}
	_, err = wt.Commit("sample environment", &git.CommitOptions{Author: sig})
	return err
}
