package trials

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/testcluster"
)

// signedDelivery is one webhook call as GitHub sends it.
type signedDelivery struct {
	body   []byte
	header http.Header
}

func newDelivery(body, id string) signedDelivery {
	mac := hmac.New(sha256.New, []byte(webhookKey))
	mac.Write([]byte(body))
	h := http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {"push"},
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
	if id != "" {
		h.Set("X-GitHub-Delivery", id)
	}
	return signedDelivery{body: []byte(body), header: h}
}

// send posts the delivery, its id replaced by id when set, and returns the
// status code, the JSON answer's status and the Retry-After header.
func (p *proc) send(d signedDelivery, id string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(p.t.Context(), "POST", "http://"+p.addr+"/webhook", bytes.NewReader(d.body))
	if err != nil {
		return 0, "", "", err
	}
	req.Header = d.header.Clone()
	if id != "" {
		req.Header.Set("X-GitHub-Delivery", id)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	var answer struct{ Status string }
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(data, &answer)
	return resp.StatusCode, answer.Status, resp.Header.Get("Retry-After"), nil
}

// answers counts the webhook answers by code (and "duplicate" apart).
type answers struct {
	mu         sync.Mutex
	byKind     map[string]int
	retryAfter []int
}

func (a *answers) add(code int, status, retryAfter string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	kind := strconv.Itoa(code)
	if status == "duplicate" {
		kind += " duplicate"
	}
	a.byKind[kind]++
	if s, err := strconv.Atoi(retryAfter); err == nil {
		a.retryAfter = append(a.retryAfter, s)
	}
}

func (a *answers) String() string {
	keys := make([]string, 0, len(a.byKind))
	for k := range a.byKind {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, a.byKind[k]))
	}
	return strings.Join(parts, " ")
}

// TestTrialWebhookReplay captures a signed webhook delivery and replays it
// many times, with its delivery id, with new ones and without: every
// replay is answered as a duplicate and the audit keeps every record it
// held. Then distinct signed deliveries (a leaked secret) flood the
// webhook: past the burst they are answered 429, and the audit is the same.
func TestTrialWebhookReplay(t *testing.T) {
	t.Parallel()
	rep := record(t, "replayed and flooded webhook deliveries leave the audit whole")
	n := pick(1000, 5000)
	ns := testcluster.Namespace(t)
	r := newRepo(t, false)
	r.commit(manifest(ns, "web=1.0.0"))
	op := newProc(t, ns, r.Work, "--poll-interval", "1h")
	op.start()

	// Audited changes: two deploys, then a commit applied on a webhook.
	for _, v := range []string{"1.1.0", "1.2.0"} {
		var d deployView
		op.must("POST", "/deploy", map[string]string{"name": "web", "version": v}, http.StatusAccepted, &d)
		if got := op.wait(d.ID, time.Minute); got.Status != "succeeded" {
			t.Fatalf("deploy %s: %+v", v, got)
		}
	}
	rev := r.commit(manifest(ns, "web=2.0.0"))
	captured := newDelivery(fmt.Sprintf(`{"ref":"refs/heads/main","after":%q}`, rev), "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	if code, _, _, err := op.send(captured, ""); err != nil || code != http.StatusAccepted {
		t.Fatalf("the delivery to capture: %d %v", code, err)
	}
	waitStatus(t, op, "the commit applied", func(s statusView) bool { return s.Revision == rev && serviceIs(s, "web", "green", "") })
	before := op.auditRecords()
	if !slices.ContainsFunc(before, func(a auditRecord) bool { return a.Action == "sync" && a.Service == "" }) {
		t.Fatalf("no sync record for the commit: %+v", before)
	}
	rep.add("%d audit records before: 2 deploys through the API, 1 commit applied on a signed webhook (202)", len(before))

	// The captured delivery again: a third with its id, a third with new
	// ids (the id is not signed), a third without one.
	replays := &answers{byKind: map[string]int{}}
	start := time.Now()
	parallel(4, n, func(i int) {
		id := ""
		switch i % 3 {
		case 0:
			id = captured.header.Get("X-GitHub-Delivery")
		case 1:
			id = fmt.Sprintf("replay-%d", i)
		}
		d := captured
		if i%3 == 2 {
			d = signedDelivery{body: captured.body, header: captured.header.Clone()}
			d.header.Del("X-GitHub-Delivery")
		}
		code, status, retry, err := op.send(d, id)
		if err != nil {
			t.Errorf("replay %d: %v", i, err)
			return
		}
		replays.add(code, status, retry)
	})
	took := time.Since(start)
	if replays.byKind["200 duplicate"] != n {
		t.Errorf("replays answered %s, want %d×200 duplicate", replays, n)
	}
	rep.add("the captured delivery replayed %d times (a third with its delivery id, a third with new ids, a third without) in %s: %s",
		n, took.Round(time.Millisecond), replays)

	// Distinct signed deliveries, as with a leaked secret: a burst, then 429.
	flood := &answers{byKind: map[string]int{}}
	const floodN = 100
	start = time.Now()
	parallel(4, floodN, func(i int) {
		d := newDelivery(fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,"n":%d}`, rev, i), fmt.Sprintf("flood-%d", i))
		code, status, retry, err := op.send(d, "")
		if err != nil {
			t.Errorf("flood %d: %v", i, err)
			return
		}
		flood.add(code, status, retry)
	})
	floodTook := time.Since(start)
	accepted, limited := flood.byKind["202"], flood.byKind["429"]
	if accepted < 1 || accepted > 12 || accepted+limited != floodN || len(flood.retryAfter) != limited {
		t.Errorf("%d distinct deliveries answered %s, want at most the burst of 10 (and what refilled) accepted, 429 with Retry-After for the rest", floodN, flood)
	}
	rep.add("%d distinct signed deliveries in %s: %s (Retry-After %s s)", floodN, floodTook.Round(time.Millisecond), flood, spread(flood.retryAfter))

	// The syncs the accepted deliveries triggered fetched nothing new.
	time.Sleep(2 * time.Second)
	after := op.auditRecords()
	missing := 0
	for _, a := range before {
		if !slices.Contains(after, a) {
			missing++
			t.Errorf("audit record %+v is gone", a)
		}
	}
	if len(after)-len(before) > 1 {
		t.Errorf("%d audit records after the replays and the flood, %d before: want at most one more", len(after), len(before))
	}
	rep.add("audit: %d records before, %d after; %d earlier records missing", len(before), len(after), missing)
}

// auditRecords returns every record GET /audit holds (up to 1,000).
func (p *proc) auditRecords() []auditRecord {
	p.t.Helper()
	var records []auditRecord
	p.must("GET", "/audit?limit=1000", nil, http.StatusOK, &records)
	return records
}

// parallel runs fn(0..n-1) on workers goroutines.
func parallel(workers, n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// spread is "min–max" of values, "-" when empty.
func spread(values []int) string {
	if len(values) == 0 {
		return "-"
	}
	lo, hi := slices.Min(values), slices.Max(values)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}
