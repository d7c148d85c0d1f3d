package trials

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

// deployCall is one POST /deploy of the kill trial.
type deployCall struct {
	version  string
	id       string // set when the call was accepted (202)
	err      string // set when the answer was lost to the kill
	landed   bool   // accepted, or recorded in the audit without an answer
	killedIn time.Duration
	killedAt time.Time
}

// TestTrialKillOperator SIGKILLs the operator at random moments of a
// sequence of deploys and restarts it each time: every accepted deploy
// ends, the audit holds one record per accepted call, and the cluster runs
// the last version accepted.
func TestTrialKillOperator(t *testing.T) {
	t.Parallel()
	rep := record(t, "SIGKILL the operator during a sequence of deploys")
	n := pick(6, 20)
	rng := newRand(t)
	ns := testcluster.Namespace(t)
	r := newRepo(t, false)
	r.commit(manifest(ns, "web=1.0.0"))
	op := newProc(t, ns, r.Work, "--poll-interval", "1h")
	calls := make([]*deployCall, n)
	duringCall := 0
	for i := range n {
		if !op.running() {
			op.start()
		}
		c := &deployCall{version: fmt.Sprintf("2.0.%d", i)}
		calls[i] = c
		// A third of the kills land while the server handles the call (just
		// after the request is written), the rest while the rollout it
		// starts runs or after it ended.
		inCall := rng.IntN(3) == 0
		switch {
		case inCall:
			c.killedIn = time.Duration(rng.IntN(3000)) * time.Microsecond
		case rng.IntN(2) == 0:
			c.killedIn = 5*time.Millisecond + time.Duration(rng.IntN(300))*time.Millisecond
		default:
			c.killedIn = 300*time.Millisecond + time.Duration(rng.IntN(1500))*time.Millisecond
		}
		wrote := make(chan struct{})
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) },
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			code, data, err := op.callCtx(ctx, "POST", "/deploy", map[string]string{"name": "web", "version": c.version})
			var d deployView
			switch {
			case err != nil:
				c.err = err.Error()
			case code != http.StatusAccepted:
				c.err = fmt.Sprintf("%d %s", code, data)
			case json.Unmarshal(data, &d) != nil || d.ID == "":
				c.err = fmt.Sprintf("bad answer %s", data)
			default:
				c.id, c.landed = d.ID, true
			}
		}()
		if inCall {
			select {
			case <-wrote:
			case <-done:
			}
		}
		time.Sleep(c.killedIn)
		op.kill()
		c.killedAt = time.Now()
		<-done
		if c.id == "" {
			duringCall++
		}
		if c.id == "" && !strings.Contains(c.err, "connection") && !strings.Contains(c.err, "EOF") {
			t.Errorf("deploy %s: not a lost answer but %s", c.version, c.err)
		}
	}
	op.start()
	rep.add("%d deploys, %d SIGKILLs (%d cut the answer of the call), %d restarts", n, n, duringCall, op.starts-1)
	verifyKilledDeploys(t, rep, op, calls)
}

func verifyKilledDeploys(t *testing.T, rep *entry, op *proc, calls []*deployCall) {
	records := op.deployRecords("web")
	accepted, lost, landedLost, afterRestart := 0, 0, 0, 0
	ended := map[string]int{}
	var last *deployCall
	for _, c := range calls {
		if c.id == "" {
			lost++
			// The record may have been written before the kill cut the answer.
			for id, rs := range records {
				if len(rs) == 1 && rs[0].Version == c.version {
					c.id, c.landed = id, true
					landedLost++
				}
			}
			if c.id == "" {
				continue
			}
		} else {
			accepted++
		}
		if n := len(records[c.id]); n != 1 {
			t.Errorf("deploy %s (%s): %d audit records, want 1", c.id, c.version, n)
		}
		d := op.wait(c.id, 2*time.Minute)
		ended[strings.TrimSpace(d.Status+" "+d.Reason)]++
		if d.FinishedAt != nil && d.FinishedAt.After(c.killedAt) {
			afterRestart++ // it was still running when the operator died
		}
		switch {
		case d.Status == "succeeded":
		case d.Status == "failed" && d.Reason == "Superseded":
		default:
			t.Errorf("deploy %s (%s) ended %s %s: %s", c.id, c.version, d.Status, d.Reason, d.Message)
		}
		last = c
	}
	if got := len(records); got != accepted+landedLost {
		t.Errorf("%d deploy records in the audit, want %d (%d accepted + %d landed without an answer)", got, accepted+landedLost, accepted, landedLost)
	}
	if last == nil {
		t.Fatal("no deploy was accepted")
	}
	if d := op.wait(last.id, 2*time.Minute); d.Status != "succeeded" {
		t.Errorf("the last deploy %s (%s) ended %s %s, want succeeded", last.id, last.version, d.Status, d.Reason)
	}
	eventually(t, 2*time.Minute, "web green at the last version", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		for _, svc := range s.Services {
			if svc.Name == "web" {
				return svc.Version == last.version && svc.Status == "green", svc.Version + " " + svc.Status
			}
		}
		return false, "web not in /status"
	})
	dep, err := testcluster.Get(t).Client.AppsV1().Deployments(op.ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+last.version) {
		t.Errorf("Deployment web runs %s, want version %s", img, last.version)
	}
	rep.add("%d accepted (202), %d answers lost to the kill (%d of them recorded, none twice)", accepted, lost, landedLost)
	rep.add("every landed deploy ended: %d succeeded, %d failed Superseded; %d were still running at their kill and ended after the restart",
		ended["succeeded"], ended["failed Superseded"], afterRestart)
	rep.add("audit: %d deploy records for %d landed calls; cluster at %s, the last landed version", len(records), accepted+landedLost, last.version)
}
