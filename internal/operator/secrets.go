package operator

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/render"
)

// ownSecrets returns what lists the operator's own Secrets, whatever their
// names: those its Pod reads (the token file, git credentials, the webhook
// secret, the Vault token: every Secret of its volumes, env and pull
// secrets) and those labelled render.LabelOperatorSecret. The file may
// reference none of them (see docs/security.md). Outside a Pod (POD_NAME
// unset) only the labelled ones are known.
func ownSecrets(client kubernetes.Interface, namespace string, log *slog.Logger) func(context.Context) ([]string, error) {
	pod := os.Getenv("POD_NAME")
	return func(ctx context.Context) ([]string, error) {
		list, err := client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: render.LabelOperatorSecret + "=true"})
		if err != nil {
			return nil, fmt.Errorf("list secrets labelled %s: %w", render.LabelOperatorSecret, err)
		}
		var names []string
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
		if pod == "" {
			return names, nil
		}
		p, err := client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			log.Warn("own pod not found: its secrets are not known", "pod", pod)
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read own pod %s: %w", pod, err)
		}
		return append(names, podSecrets(&p.Spec)...), nil
	}
}

// podSecrets are the names of the Secrets a pod spec reads.
func podSecrets(spec *corev1.PodSpec) []string {
	var out []string
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					out = append(out, src.Secret.Name)
				}
			}
		}
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				out = append(out, e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out = append(out, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	for _, ps := range spec.ImagePullSecrets {
		out = append(out, ps.Name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
