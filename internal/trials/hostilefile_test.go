package trials

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/install"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

// The operator's own Secrets in the hostile-file trial: two of the
// installation's names, one its Pod mounts under a name of the team's
// choosing, and one it only knows by label.
const (
	podSecret      = "org-git-credentials"
	labelledSecret = "ci-vault-token"
	operatorPod    = "envop-7d9f-abcde"
)

var ownSecretNames = []string{install.DefaultAuthTokenSecret, install.GitSecret, podSecret, labelledSecret}

// TestTrialHostileFile: a file writer tries to take over what is not
// theirs: the operator's Service, Secrets, state and audit, objects made
// by hand, the namespace through access, other Services through backend,
// other hosts and other teams' Vault paths. Every attempt is refused with
// its position or reason; nothing of the operator or of the hand-made
// objects changes; the rest of the environment runs green.
func TestTrialHostileFile(t *testing.T) {
	t.Parallel()
	rep := record(t, "a hostile environment file changes nothing beyond its own workloads")
	ns := testcluster.Namespace(t)
	c := testcluster.Get(t).Client
	installation(t, c, ns)
	foreign := handMade(t, c, ns)

	r := newRepo(t, false)
	writeFile(t, filepath.Join(r.Work, "app.conf"), "mode=trial\n")
	first := r.commit(collidingFile(ns, false))
	op := newProc(t, ns, r.Work, "--poll-interval", "1s", "--allowed-hosts", "example.test", "--vault-path-prefix", "trial")
	op.env = append(op.env, "POD_NAME="+operatorPod)
	before := snapshot(t, ns) // newProc made the ServiceAccount, Role and RoleBinding
	op.start()

	// Objects made by hand in the way: their services are refused, the rest runs.
	st := waitStatus(t, op, "api green, web NotOwned", func(s statusView) bool {
		return serviceIs(s, "api", "green", "") && serviceIs(s, "web", "red", "NotOwned")
	})
	web := find(st, "web")
	for _, want := range []string{"Service web", "not created by envop", "adopt: true"} {
		if !strings.Contains(web.Message, want) {
			t.Errorf("web's NotOwned message %q lacks %q", web.Message, want)
		}
	}
	if !strings.Contains(st.Sync.Error, "ConfigMap settings exists and was not created by envop") {
		t.Errorf("the sync does not report the gist in the way: %q", st.Sync.Error)
	}
	var accepted deployView
	op.must("POST", "/deploy", map[string]string{"name": "web", "version": "2.0.0"}, http.StatusAccepted, &accepted)
	if d := op.wait(accepted.ID, time.Minute); d.Status != "failed" || d.Reason != "NotOwned" || !strings.Contains(d.Message, "Service web") {
		t.Errorf("a deploy of a service in the way of a hand-made object: %+v", d)
	}
	rep.add("hand-made Service web and ConfigMap settings in the way: web red NotOwned, its deploy failed NotOwned, the gist reported in sync.error, api green")

	for _, h := range hostileFiles(ns) {
		rev := r.commit(h.content)
		s := waitStatus(t, op, h.name+" refused", func(s statusView) bool {
			return s.Sync.Status == "error" && strings.Contains(s.Sync.Error, shortHash(rev))
		})
		for _, needle := range h.refused {
			line := lineOf(t, h.content, needle)
			if !strings.Contains(s.Sync.Error, fmt.Sprintf("environments.bitesize:%d:", line)) {
				t.Errorf("%s: %q (line %d) is not refused with its position:\n%s", h.name, needle, line, s.Sync.Error)
			}
		}
		if s.Revision != first || !serviceIs(s, "api", "green", "") {
			t.Errorf("%s: the running revision changed or api is not green: %s %+v", h.name, s.Revision, s.Services)
		}
		rep.add("%s: %d attempts, each refused at its file:line:column; revision %s keeps running", h.name, len(h.refused), shortHash(first))
	}

	after := snapshot(t, ns)
	changed := 0
	for key, was := range before {
		if now := after[key]; now != was {
			changed++
			t.Errorf("%s changed:\nbefore %s\nafter  %s", key, was, now)
		}
	}
	rep.add("%d objects of the operator and made by hand: %d changed", len(before), changed)
	noOwnSecretInPods(t, c, ns)
	noSystemSubjects(t, c, ns)
	keptOwnLabels(t, c, ns)
	if _, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), foreign["forged"], metav1.GetOptions{}); err != nil {
		t.Errorf("a ConfigMap labelled like envop's but not made by it was pruned: %v", err)
	}
	rep.add("no pod reads an operator Secret, no binding names a system: subject, a ConfigMap forged with envop's labels is not pruned")

	// adopt: true hands the hand-made Service web over, and only it.
	r.commit(collidingFile(ns, true))
	waitStatus(t, op, "web adopted and green", func(s statusView) bool {
		return serviceIs(s, "web", "green", "") && serviceIs(s, "api", "green", "")
	})
	svc, err := c.CoreV1().Services(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["app"] == "legacy-web" || svc.Labels[render.LabelManagedBy] != render.ManagedBy {
		t.Errorf("adopted Service web: %v %v %v", svc.Spec.Selector, svc.Labels, err)
	}
	rep.add("adopt: true on web takes the hand-made Service over: web green")
}

// installation creates what `envop install` and the installer make beside
// the ServiceAccount, Role and RoleBinding newProc makes: the Deployment,
// the Service, the Secrets, and the operator's Pod, which mounts a Secret
// of a name the installer chose.
func installation(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	objs, err := install.Objects(install.Options{Namespace: ns, Environment: envName, GitRepo: "https://git.example.test/repo.git",
		AuthTokenSecret: install.DefaultAuthTokenSecret, Rules: operator.RequiredRules()})
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), o, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		case *corev1.Service:
			if _, err := c.CoreV1().Services(ns).Create(t.Context(), o, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range ownSecretNames {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"token": "s3cr3t-" + name}}
		if name == labelledSecret {
			s.Labels = map[string]string{render.LabelOperatorSecret: "true"}
		}
		if _, err := c.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: operatorPod, Labels: map[string]string{"app.kubernetes.io/name": "envop", "app.kubernetes.io/component": "operator"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "envop", Image: "envop:trial",
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: install.GitSecret}}}}}},
			Volumes: []corev1.Volume{{Name: "git", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: podSecret}}}},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// handMade creates objects envop did not make: a Service and a ConfigMap
// whose names the file then uses, and a ConfigMap forged with envop's
// labels. It returns their names by role.
func handMade(t *testing.T, c kubernetes.Interface, ns string) map[string]string {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "legacy-web"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "legacy-web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if _, err := c.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, labels := range map[string]map[string]string{
		"settings": {"team": "legacy"},
		"forged":   {render.LabelManagedBy: render.ManagedBy, render.LabelEnvironment: envName, render.LabelName: "forged"},
	} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: map[string]string{"owner": "hand"}}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"service": "web", "gist": "settings", "forged": "forged"}
}

// snapshot is the JSON of every object of the operator and made by hand,
// by kind/name, resourceVersion included: byte for byte, but for what the
// deployment controller writes to the operator's Deployment (see
// withoutController).
func snapshot(t *testing.T, ns string) map[string]string {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(testcluster.Get(t).Config)
	kinds := map[schema.GroupVersionResource][]string{
		{Version: "v1", Resource: "services"}:                                         {"envop", "web"},
		{Version: "v1", Resource: "secrets"}:                                          ownSecretNames,
		{Version: "v1", Resource: "configmaps"}:                                       {"settings", "forged"},
		{Version: "v1", Resource: "serviceaccounts"}:                                  {"envop"},
		{Group: "apps", Version: "v1", Resource: "deployments"}:                       {"envop"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}:        {"envop"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}: {"envop"},
	}
	out := map[string]string{}
	for gvr, names := range kinds {
		for _, name := range names {
			u, err := dyn.Resource(gvr).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("read %s %s: %v", gvr.Resource, name, err)
			}
			if gvr.Resource == "deployments" {
				withoutController(u)
			}
			data, err := json.Marshal(u.Object)
			if err != nil {
				t.Fatal(err)
			}
			out[gvr.Resource+"/"+name] = string(data)
		}
	}
	return out
}

// withoutController removes what kube-controller-manager writes to a
// Deployment (its status, revision annotation, their managedFields entries
// and the resourceVersion they move). Every other manager's entry is kept:
// a write by envop would show there.
func withoutController(u *unstructured.Unstructured) {
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(u.Object, "metadata", "annotations", "deployment.kubernetes.io/revision")
	if len(u.GetAnnotations()) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
	}
	var kept []metav1.ManagedFieldsEntry
	for _, mf := range u.GetManagedFields() {
		if mf.Manager != "kube-controller-manager" {
			kept = append(kept, mf)
		}
	}
	u.SetManagedFields(kept)
}

// collidingFile is a valid file whose service web and gist settings meet
// the objects made by hand; adopt lets web take its Service over.
func collidingFile(ns string, adopt bool) string {
	adoptLine := ""
	if adopt {
		adoptLine = "        adopt: true\n"
	}
	return fmt.Sprintf(`project: trials
environments:
  - name: %s
    namespace: %s
    gists:
      - name: settings
        files: [app.conf]
    services:
      - name: api
        version: "1.0.0"
        port: 8080
        requests: {cpu: 10m, memory: 16Mi}
      - name: web
        version: "1.0.0"
        port: 8080
        requests: {cpu: 10m, memory: 16Mi}
%s`, envName, ns, adoptLine)
}

// hostile is one revision of attempts, each refused at the line of its
// needle (a string found once in the file).
type hostile struct {
	name    string
	content string
	refused []string
}

func hostileFiles(ns string) []hostile {
	head := fmt.Sprintf("project: trials\nenvironments:\n  - name: %s\n    namespace: %s\n", envName, ns)
	api := `      - name: api
        version: "1.0.0"
        port: 8080
        requests: {cpu: 10m, memory: 16Mi}
`
	return []hostile{{
		name: "the operator's names",
		content: head + `    gists:
      - name: envop-audit-trial
        files: [app.conf]
      - name: envop-state-api
        files: [app.conf]
    services:
` + api + `      - name: envop
        version: "1.0.0"
        port: 8080
      - name: shop
        version: "1.0.0"
        external_url: shop.example.test
        ssl: true
        tls_secret: envop-tokens
        volumes:
          - name: envop-data
            path: /data
            size: 1Gi
`,
		refused: []string{"name: envop-audit-trial", "name: envop-state-api", "name: envop\n", "tls_secret: envop-tokens", "name: envop-data"},
	}, {
		name: "the operator's Secrets",
		content: head + `    presets:
      - name: leak
        env:
          - name: PRESET_TOKENS
            secret: envop-tokens
            key: tokens
    services:
` + api + `      - name: thief
        version: "1.0.0"
        presets: [leak]
        env:
          - name: TOKENS
            secret: envop-tokens
            key: tokens
          - name: VAULT
            secret: ci-vault-token
            key: token
        env_from:
          - secret: envop-git
        volumes:
          - name: org-git-credentials
            type: secret
            path: /git
        init_containers:
          - name: steal
            image: busybox:1.36
            env:
              - name: GIT
                secret: org-git-credentials
                key: token
`,
		refused: []string{"secret: envop-tokens\n            key: tokens\n    services", "secret: envop-tokens\n            key: tokens\n          - name: VAULT",
			"secret: ci-vault-token", "secret: envop-git", "name: org-git-credentials", "secret: org-git-credentials"},
	}, {
		name: "access, routes, hosts and Vault",
		content: head + `    access:
      - group: system:authenticated
        role: admin
      - user: system:anonymous
        role: view
      - group: system:serviceaccounts
        role: deploy
      - group: "*"
        role: admin
    services:
` + api + `      - name: front
        version: "1.0.0"
        port: 8080
        external_url: front.example.test
        backend: envop
        backend_port: 8080
      - name: evil
        version: "1.0.0"
        port: 8080
        external_url: login.example.com
        ssl: true
        tls:
          vault: other-team/certs/login
`,
		refused: []string{"system:authenticated", "system:anonymous", "system:serviceaccounts", `group: "*"`, "backend: envop",
			"login.example.com", "vault: other-team"},
	}}
}

// lineOf is the 1-based line where needle starts in content; a needle
// spans several lines only to be found once, and starts with the value.
func lineOf(t *testing.T, content, needle string) int {
	t.Helper()
	i := strings.Index(content, needle)
	if i < 0 || strings.Count(content, needle) != 1 {
		t.Fatalf("needle %q found %d times", needle, strings.Count(content, needle))
	}
	return strings.Count(content[:i], "\n") + 1
}

func shortHash(rev string) string { return rev[:12] }

func waitStatus(t *testing.T, op *proc, what string, cond func(statusView) bool) statusView {
	t.Helper()
	var last statusView
	eventually(t, 2*time.Minute, what, func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		last = s
		b, _ := json.Marshal(s)
		return cond(s), string(b)
	})
	return last
}

func find(s statusView, name string) serviceView {
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	return serviceView{}
}

func serviceIs(s statusView, name, status, reason string) bool {
	svc := find(s, name)
	return svc.Status == status && (reason == "" || svc.Reason == reason)
}

// noOwnSecretInPods: no pod envop rendered reads a Secret of the operator.
func noOwnSecretInPods(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	deps, err := c.AppsV1().Deployments(ns).List(t.Context(), metav1.ListOptions{LabelSelector: render.LabelManagedBy + "=" + render.ManagedBy})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		spec, _ := json.Marshal(d.Spec.Template.Spec)
		for _, s := range ownSecretNames {
			if strings.Contains(string(spec), `"`+s+`"`) {
				t.Errorf("Deployment %s reads the operator's Secret %s", d.Name, s)
			}
		}
		if a := d.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
			t.Errorf("Deployment %s mounts the ServiceAccount token", d.Name)
		}
	}
}

// noSystemSubjects: no RoleBinding grants anything to a system: subject.
func noSystemSubjects(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	rbs, err := c.RbacV1().RoleBindings(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rb := range rbs.Items {
		for _, s := range rb.Subjects {
			if s.Kind != "ServiceAccount" && (strings.HasPrefix(s.Name, "system:") || s.Name == "*" || s.Name == "") {
				t.Errorf("RoleBinding %s binds %s %q", rb.Name, s.Kind, s.Name)
			}
		}
	}
}

// keptOwnLabels: the operator's state and audit ConfigMaps are still its
// own, never rendered objects (a gist of their name would carry envop's
// render labels).
func keptOwnLabels(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	cms, err := c.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range cms.Items {
		if strings.HasPrefix(cm.Name, "envop-") {
			names = append(names, cm.Name)
			if cm.Labels[render.LabelManagedBy] != "" {
				t.Errorf("ConfigMap %s of the operator carries rendered labels: %v", cm.Name, cm.Labels)
			}
		}
	}
	for _, want := range []string{"envop-audit-" + envName, "envop-state-api", "envop-inventory-" + envName} {
		if !slices.Contains(names, want) {
			t.Errorf("no ConfigMap %s (have %v)", want, names)
		}
	}
}
