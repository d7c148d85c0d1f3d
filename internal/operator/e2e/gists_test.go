package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testgit"
)

// withGists names a gists repository (GISTS_URL) whose file becomes the
// ConfigMap app-config, mounted by web. The manifest's own repository
// holds a file of that name too, which must not be read.
const withGists = `project: shop
environments:
  - name: e2e
    namespace: NS
    gists_repository:
      remote: GISTS_URL
      branch: main
    gists:
      - name: app-config
        files: [config/app.properties]
    services:
      - name: web
        version: "VERSION"
        port: 8080
        volumes:
          - name: app-config
            path: /etc/app
            type: configmap
`

// gistsStatus is what /status says of the revisions.
type gistsStatus struct {
	Revision      string `json:"revision"`
	GistsRevision string `json:"gists_revision"`
	Sync          struct{ Status, Error string }
}

// TestGistsRepository runs an operator whose repository and gists
// repository are two real git repositories served over smart HTTP on
// loopback, the gists one behind a token (GISTS_TOKEN), both polled:
// the gist ConfigMap comes from the gists repository; a commit there alone
// updates it and rolls the pods that mount it; /status, the audit and the
// log carry both revisions; and while the gists repository is unreachable
// the sync fails naming it, nothing new is applied and the last good state
// keeps running, until it is back.
func TestGistsRepository(t *testing.T) {
	t.Parallel()
	const gistsToken = "gists-T0ken-7f3e9b"
	gists := testgit.NewRepo(t)
	gistsRev := gists.Commit("config", map[string]string{"config/app.properties": "greeting=hello v1\n"})
	gistsSrv := testgit.Serve(t, gistsToken)
	gistsURL := gistsSrv.Add(gists.Bare)
	mainSrv := testgit.Serve(t, "")
	manifest := func(version string) string {
		return strings.NewReplacer("GISTS_URL", gistsURL, "VERSION", version).Replace(withGists)
	}
	e := newEnvWith(t, manifest("1.0.0"), func(o *operator.Options) {
		if !strings.HasPrefix(o.GitRepo, "http://") {
			o.GitRepo = mainSrv.Add(o.GitRepo) // the harness's work tree, over HTTP
		}
		o.PollInterval = time.Second
		o.GistsCredentials.Token = gistsToken
	})
	// The manifest's repository has a file of the gist's path: it is not
	// the one read.
	e.stage("config/app.properties", "greeting=from the manifest's repository\n")
	mainRev := e.commit(manifest("1.0.0"))
	c := testcluster.Get(t)
	configMap := func() string {
		cm, err := c.Client.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "app-config", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		return cm.Data["app.properties"]
	}
	status := func() gistsStatus {
		var s gistsStatus
		if code := e.call("GET", "/status", nil, &s); code != 200 {
			t.Fatalf("GET /status = %d", code)
		}
		return s
	}
	e.eventually(time.Minute, "the gist from the gists repository, both revisions in /status", func() (bool, string) {
		s := status()
		return configMap() == "greeting=hello v1\n" && s.Revision == mainRev && s.GistsRevision == gistsRev,
			configMap() + " " + s.Revision + " " + s.GistsRevision
	})
	e.eventually(2*time.Minute, "web running", func() (bool, string) {
		s := e.service("web")
		return s.Status == "green", s.Status + " " + s.Reason
	})
	firstHash := podTemplateHash(t, e)

	// A preview (POST /diff) reads the gists sent with the file as the
	// gists repository's.
	var ans api.DiffAnswer
	req := api.DiffRequest{File: strings.ReplaceAll(manifest("1.0.0"), "NS", e.ns),
		Gists: map[string]string{"config/app.properties": "greeting=preview\n"}}
	if code := e.call("POST", "/diff", req, &ans); code != 200 {
		t.Fatalf("POST /diff = %d %+v", code, ans)
	}
	previewed := false
	for _, c := range ans.Changes {
		previewed = previewed || c.Kind == "ConfigMap" && c.Name == "app-config" && c.Action == api.DiffUpdate &&
			strings.Contains(c.Diff, "greeting=preview")
	}
	if !previewed {
		t.Errorf("POST /diff with the gists: no update of ConfigMap app-config to the sent file: %+v", ans.Changes)
	}

	// A commit to the gists repository alone: polled, applied, the pods
	// rolled.
	gistsRev2 := gists.Commit("config 2", map[string]string{"config/app.properties": "greeting=hello v2\n"})
	e.eventually(time.Minute, "the gists commit applied", func() (bool, string) {
		s := status()
		return configMap() == "greeting=hello v2\n" && s.GistsRevision == gistsRev2 && s.Revision == mainRev,
			configMap() + " " + s.Revision + " " + s.GistsRevision
	})
	secondHash := podTemplateHash(t, e)
	if secondHash == firstHash || secondHash == "" {
		t.Fatalf("the pod template's config hash stayed %q", firstHash)
	}
	e.eventually(2*time.Minute, "web's pods rolled to the new config", func() (bool, string) {
		return podsRolled(t, e, secondHash)
	})
	var records []struct {
		Actor, Action, Result, Message string
		Revision                       string
		GistsRevision                  string `json:"gists_revision"`
	}
	e.call("GET", "/audit", nil, &records)
	found := false
	for _, r := range records {
		// The gists commit's author made this change, not the manifest's.
		found = found || r.Action == "sync" && r.Result == "success" && r.Revision == mainRev && r.GistsRevision == gistsRev2 &&
			strings.Contains(r.Message, "gists revision "+gistsRev2[:12]) && r.Actor == "Ada <ada@example.com>"
	}
	if !found {
		t.Errorf("no sync audit record of revision %s with gists revision %s by the gists commit's author: %+v", mainRev, gistsRev2, records)
	}
	if !strings.Contains(e.logs.String(), `"gists_revision":"`+gistsRev2+`"`) {
		t.Errorf("no log line with the gists revision %s", gistsRev2)
	}

	// The gists repository unreachable: a new commit (web 1.1.0) is not
	// applied, the sync fails naming the gists repository, web keeps
	// running with the last good config.
	gistsSrv.Stop()
	e.commit(manifest("1.1.0"))
	e.eventually(time.Minute, "the sync failing on the gists repository", func() (bool, string) {
		s := status()
		return s.Sync.Status == "error" && strings.Contains(s.Sync.Error, "gists repository") && strings.Contains(s.Sync.Error, gistsURL),
			s.Sync.Status + ": " + s.Sync.Error
	})
	s := status()
	if s.Revision != mainRev || s.GistsRevision != gistsRev2 || configMap() != "greeting=hello v2\n" {
		t.Errorf("during the outage: revision %s gists %s config %q, want the last good ones", s.Revision, s.GistsRevision, configMap())
	}
	if web := e.service("web"); web.Version != "1.0.0" || web.Status != "green" {
		t.Errorf("during the outage web is %s %s, want 1.0.0 green", web.Version, web.Status)
	}
	t.Logf("sync error: %s", s.Sync.Error)

	// Back: the waiting commit applies.
	gistsSrv.Start()
	e.eventually(time.Minute, "the commit applied once the gists repository is back", func() (bool, string) {
		s := status()
		web := e.service("web")
		return s.Sync.Status == "synced" && web.Version == "1.1.0", s.Sync.Status + " " + web.Version
	})
	for what, text := range map[string]string{"logs": e.logs.String(), "status": s.Sync.Error} {
		if strings.Contains(text, gistsToken) {
			t.Errorf("the gists token is in the %s", what)
		}
	}
}

// podTemplateHash is the config hash on web's pod template.
func podTemplateHash(t *testing.T, e *env) string {
	t.Helper()
	d, err := testcluster.Get(t).Client.AppsV1().Deployments(e.ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Annotations[render.AnnotationConfigHash]
}

// podsRolled says whether web's rollout is complete and every pod of web
// that is not going away carries hash.
func podsRolled(t *testing.T, e *env, hash string) (bool, string) {
	c := testcluster.Get(t)
	d, err := c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	st := d.Status
	if st.ObservedGeneration < d.Generation || st.UpdatedReplicas != 1 || st.AvailableReplicas != 1 || st.Replicas != 1 {
		return false, "rollout in progress"
	}
	pods, err := c.Client.CoreV1().Pods(e.ns).List(t.Context(), metav1.ListOptions{
		LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
	if err != nil {
		return false, err.Error()
	}
	running := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if p.Annotations[render.AnnotationConfigHash] != hash {
			return false, "pod " + p.Name + " has the old config"
		}
		if p.Status.Phase == corev1.PodRunning {
			running++
		}
	}
	return running == 1, "running pods with the new config: " + strconv.Itoa(running)
}

// stage writes a file in the repository for the next commit.
func (e *env) stage(name, content string) {
	e.t.Helper()
	p := filepath.Join(e.repo, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	r, err := git.PlainOpen(e.repo)
	if err != nil {
		e.t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := wt.Add(name); err != nil {
		e.t.Fatal(err)
	}
}
