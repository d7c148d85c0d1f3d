package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/render"
)

// AnnotationVaultVersion on a Secret is the KV v2 version it was copied from.
const AnnotationVaultVersion = "envop.io/vault-version"

// expiryWarning is how close to its end a certificate draws a warning.
const expiryWarning = 14 * 24 * time.Hour

// ReadError is an Ingress whose TLS Secret could not be made from Vault.
// Its message names the Ingress and the path, never a token or key.
type ReadError struct {
	Namespace, Ingress string
	// Secret is the Secret the Ingress names; empty when it names none.
	Secret string
	Path   string
	Err    error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("ingress %s/%s: vault path %q: %v", e.Namespace, e.Ingress, e.Path, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// request is one Secret some Ingresses ask for.
type request struct {
	ingress *unstructured.Unstructured
	secret  string
	path    string
}

// Secrets returns, for every Ingress in objs that carries the vault-path
// annotation, a kubernetes.io/tls Secret named after the Ingress's TLS
// secretName, in its namespace and with its labels (so pruning covers it),
// holding the entry's certificate and private key. An Ingress whose entry
// cannot be read or is invalid gets no Secret and a *ReadError in the
// returned error (all joined); the others still get theirs. Keep the Secrets
// of failed Ingresses out of pruning with Unavailable.
func (s *Source) Secrets(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	reqs, errs := requests(objs)
	if len(reqs) > 0 && s == nil {
		for _, r := range reqs {
			errs = append(errs, r.fail(errors.New("no Vault is configured (set VAULT_ADDR and VAULT_TOKEN or VAULT_TOKEN_FILE)")))
		}
		return nil, errors.Join(errs...)
	}
	var out []*unstructured.Unstructured
	var down *unreachableError
	for _, r := range reqs {
		if down != nil {
			errs = append(errs, r.fail(down))
			continue
		}
		p, err := s.read(ctx, r.path)
		if err != nil {
			errors.As(err, &down)
			errs = append(errs, r.fail(err))
			continue
		}
		s.warnExpiry(r, p)
		out = append(out, r.object(p))
	}
	return out, errors.Join(errs...)
}

// requests lists the Secrets the Ingresses ask for, once each. Two
// Ingresses naming one Secret must name one path.
func requests(objs []*unstructured.Unstructured) ([]request, []error) {
	var out []request
	var errs []error
	seen := map[string]request{}
	for _, obj := range objs {
		path, ok := obj.GetAnnotations()[render.AnnotationVaultPath]
		if !ok || obj.GetKind() != "Ingress" {
			continue
		}
		r := request{ingress: obj, path: strings.Trim(path, "/")}
		names := tlsSecretNames(obj)
		if len(names) == 0 {
			errs = append(errs, r.fail(errors.New("the Ingress has no TLS secretName to write the certificate to")))
			continue
		}
		for _, name := range names {
			r.secret = name
			key := obj.GetNamespace() + "/" + name
			if prev, dup := seen[key]; dup {
				if prev.path != r.path {
					errs = append(errs, r.fail(fmt.Errorf("Secret %q is also filled from vault path %q (ingress %s)", name, prev.path, prev.ingress.GetName())))
				}
				continue
			}
			seen[key] = r
			out = append(out, r)
		}
	}
	return out, errs
}

func tlsSecretNames(ing *unstructured.Unstructured) []string {
	tls, _, _ := unstructured.NestedSlice(ing.Object, "spec", "tls")
	var out []string
	for _, t := range tls {
		m, _ := t.(map[string]any)
		if name, _ := m["secretName"].(string); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func (r request) fail(err error) *ReadError {
	return &ReadError{Namespace: r.ingress.GetNamespace(), Ingress: r.ingress.GetName(), Secret: r.secret, Path: r.path, Err: err}
}

// object is the Secret of r holding p.
func (r request) object(p pair) *unstructured.Unstructured {
	meta := map[string]any{
		"name":      r.secret,
		"namespace": r.ingress.GetNamespace(),
		"annotations": map[string]any{
			render.AnnotationVaultPath: r.path,
			AnnotationVaultVersion:     strconv.Itoa(p.version),
		},
	}
	if l := r.ingress.GetLabels(); len(l) > 0 {
		labels := map[string]any{}
		for k, v := range l {
			labels[k] = v
		}
		meta["labels"] = labels
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   meta,
		"type":       "kubernetes.io/tls",
		"data": map[string]any{
			"tls.crt": base64.StdEncoding.EncodeToString(p.cert),
			"tls.key": base64.StdEncoding.EncodeToString(p.key),
		},
	}}
}

// warnExpiry logs a certificate that has ended or ends soon: copying it is
// still right (it is what Vault holds), but someone has to renew it.
func (s *Source) warnExpiry(r request, p pair) {
	left := p.notAfter.Sub(s.now())
	switch {
	case left <= 0:
		s.log.Warn("vault certificate has expired", "ingress", r.ingress.GetName(), "path", r.path, "notAfter", p.notAfter)
	case left < expiryWarning:
		s.log.Warn("vault certificate expires soon", "ingress", r.ingress.GetName(), "path", r.path, "notAfter", p.notAfter)
	}
}

// Unavailable returns, for each *ReadError in err, a Secret carrying only
// its kind, namespace and name. Pass them to pruning (not to apply) with the
// desired objects, so a Secret that Vault could not refresh keeps its last
// good content instead of being deleted while Vault is unreachable.
func Unavailable(err error) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, e := range readErrors(err) {
		if e.Secret == "" {
			continue
		}
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("v1")
		obj.SetKind("Secret")
		obj.SetNamespace(e.Namespace)
		obj.SetName(e.Secret)
		out = append(out, obj)
	}
	return out
}

// readErrors walks a tree of joined and wrapped errors.
func readErrors(err error) []*ReadError {
	switch e := err.(type) {
	case nil:
		return nil
	case *ReadError:
		return []*ReadError{e}
	case interface{ Unwrap() []error }:
		var out []*ReadError
		for _, inner := range e.Unwrap() {
			out = append(out, readErrors(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		return readErrors(e.Unwrap())
	}
	return nil
}

// Placeholders returns, for every Secret the Ingresses in objs ask Vault
// for, a Secret carrying only its kind, namespace and name, reading
// nothing: a diff, which does not read Vault, passes them as kept so it
// shows such a Secret neither changed nor pruned.
func Placeholders(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	reqs, _ := requests(objs)
	out := make([]*unstructured.Unstructured, 0, len(reqs))
	for _, r := range reqs {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("v1")
		obj.SetKind("Secret")
		obj.SetNamespace(r.ingress.GetNamespace())
		obj.SetName(r.secret)
		out = append(out, obj)
	}
	return out
}
