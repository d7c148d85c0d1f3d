package apply

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/envop/envop/internal/testcluster"
)

// TestClassifyRealAnswers: the refusals the API server really answers,
// met by the Applier, classify as docs/operator.md says, and the message
// of each stays in the error.
func TestClassifyRealAnswers(t *testing.T) {
	t.Run("rbac", func(t *testing.T) {
		ns := testcluster.Namespace(t)
		cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", withoutVerb(RequiredRules, "patch"))
		err := refusal(t, cfg, ns, "nginx:1.27", "")
		wantReason(t, err, ReasonForbidden, `cannot patch resource "deployments"`)
	})
	t.Run("quota", func(t *testing.T) {
		ns := testcluster.Namespace(t)
		testcluster.Quota(t, ns, "deployments", corev1.ResourceList{"count/deployments.apps": testcluster.Count(0)})
		err := refusal(t, testcluster.Get(t).Config, ns, "nginx:1.27", "")
		wantReason(t, err, ReasonQuotaExceeded, "exceeded quota: deployments")
	})
	t.Run("admission policy", func(t *testing.T) {
		ns := testcluster.Namespace(t)
		policy := testcluster.DenyImageTag(t, ns, "bad")
		err := refusal(t, testcluster.Get(t).Config, ns, "nginx:bad", ReasonAdmissionDenied)
		wantReason(t, err, ReasonAdmissionDenied, "ValidatingAdmissionPolicy '"+policy+"'")
	})
	t.Run("webhook", func(t *testing.T) {
		ns := testcluster.Namespace(t)
		denyingWebhook(t, ns)
		err := refusal(t, testcluster.Get(t).Config, ns, "nginx:1.27", ReasonAdmissionDenied)
		wantReason(t, err, ReasonAdmissionDenied, "web is frozen")
	})
	t.Run("pod security", func(t *testing.T) {
		ns := testcluster.Namespace(t)
		testcluster.EnforcePodSecurity(t, ns, "restricted")
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
		_, err := testcluster.Get(t).Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
		wantReason(t, err, ReasonAdmissionDenied, "violates PodSecurity")
	})
}

// refusal applies the golden Deployment web with image until it fails
// with reason (any reason but none when empty; a new policy or webhook
// takes a moment to be enforced: one admitted before is deleted), and
// returns the error.
func refusal(t *testing.T, cfg *rest.Config, ns, image, reason string) error {
	t.Helper()
	obj := find(t, golden(t, ns, "basic.yaml"), "Deployment", "web")
	setImage(t, obj, image)
	a, _ := newApplier(t, cfg, Options{Namespace: ns})
	deadline := time.Now().Add(30 * time.Second)
	for {
		cs := a.Apply(t.Context(), []*unstructured.Unstructured{obj}, nil)
		err := cs.Err()
		got, transient := Classify(err)
		if err != nil && !transient && (reason == "" || got == reason) {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("not refused within 30s; last: %v", err)
		}
		if err == nil {
			// Admitted before the rule was enforced: start again.
			_ = testcluster.Get(t).Client.AppsV1().Deployments(ns).Delete(t.Context(), "web", metav1.DeleteOptions{})
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func wantReason(t *testing.T, err error, reason, message string) {
	t.Helper()
	got, transient := Classify(err)
	t.Logf("%s: %v", got, err)
	if got != reason || transient {
		t.Errorf("Classify(%v) = %q, transient %v; want %q", err, got, transient, reason)
	}
	if err == nil || !strings.Contains(err.Error(), message) {
		t.Errorf("error %v does not say %q", err, message)
	}
}

// denyingWebhook serves, on loopback over TLS, a validating webhook that
// denies every Deployment of ns, and registers it.
func denyingWebhook(t *testing.T, ns string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: false,
			Result: &metav1.Status{Code: http.StatusForbidden, Message: "web is frozen"}}
		review.Request = nil
		_ = json.NewEncoder(w).Encode(review)
	}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	url := srv.URL + "/validate"
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	timeout := int32(5)
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "deny.envop.test",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca},
			Rules:                   []admissionregistrationv1.RuleWithOperations{deploymentRule()},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	api := testcluster.Get(t).Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := api.Create(t.Context(), cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Delete(context.WithoutCancel(t.Context()), cfg.Name, metav1.DeleteOptions{}) })
}

func deploymentRule() admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
	}
}
