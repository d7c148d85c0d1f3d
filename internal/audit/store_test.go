package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testlog"
)

func TestMain(m *testing.M) { os.Exit(testcluster.SharedMain(m)) }

const env = "dev"

// writes records the write requests of a client.
type writes struct {
	mu    sync.Mutex
	calls []string // "VERB name bytes"
}

func (w *writes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet {
			w.mu.Lock()
			w.calls = append(w.calls, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], r.ContentLength))
			w.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

func (w *writes) since(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls[n:])
}

func (w *writes) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fixture is a namespace and a client with exactly the Store's rights,
// whose writes are counted.
type fixture struct {
	t      *testing.T
	ns     string
	client kubernetes.Interface
	writes *writes
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ns := testcluster.Namespace(t)
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", RequiredRules)
	f := &fixture{t: t, ns: ns, writes: &writes{}}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(f.writes.wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.client = client
	return f
}

// store returns a loaded Store of the namespace.
func (f *fixture) store(keep Retention) *Store {
	f.t.Helper()
	s := NewStore(f.client, f.ns, env, nil, keep)
	if err := s.Load(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) add(s *Store, r Record) {
	f.t.Helper()
	if err := s.Add(f.t.Context(), r); err != nil {
		f.t.Fatal(err)
	}
}

// stored reads the segments from the cluster: their records, oldest
// first, by ConfigMap name.
func (f *fixture) stored() (names []string, records []Record) {
	f.t.Helper()
	list, err := testcluster.Get(f.t).Client.CoreV1().ConfigMaps(f.ns).List(f.t.Context(), metav1.ListOptions{LabelSelector: LabelAudit + "=" + env})
	if err != nil {
		f.t.Fatal(err)
	}
	s := NewStore(nil, f.ns, env, nil, Retention{})
	var segs []*segment
	for i := range list.Items {
		seg, err := s.decode(&list.Items[i])
		if err != nil || seg == nil {
			f.t.Fatalf("ConfigMap %s: %v", list.Items[i].Name, err)
		}
		segs = append(segs, seg)
	}
	slices.SortFunc(segs, func(a, b *segment) int { return a.n - b.n })
	for _, seg := range segs {
		names = append(names, s.name(seg.n))
		records = append(records, seg.records...)
	}
	return names, records
}

// record is the i-th test record, at t, about 250 bytes encoded.
func record(i int, t time.Time) Record {
	return Record{Time: t.UTC(), Actor: "ci", Action: ActionDeploy, Service: []string{"api", "web"}[i%2],
		Version: fmt.Sprintf("1.0.%d", i), Result: ResultAccepted, Message: fmt.Sprintf("deploy %04d %s", i, strings.Repeat("x", 100))}
}

func versions(records []Record) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = r.Version
	}
	return out
}

func TestStoreAppendsToTheNewestSegmentOnly(t *testing.T) {
	f := newFixture(t)
	keep := Retention{SegmentBytes: 2 << 10}
	s := f.store(keep)
	var want []Record
	for i := range 40 {
		before := f.writes.count()
		r := record(i, time.Now())
		f.add(s, r)
		want = append(want, r)
		// One record, one write of at most a segment.
		w := f.writes.since(before)
		if len(w) != 1 {
			t.Fatalf("record %d: writes %v, want one", i, w)
		}
		var verb, name string
		var n int
		if _, err := fmt.Sscanf(w[0], "%s %s %d", &verb, &name, &n); err != nil {
			t.Fatal(err)
		}
		if newest := s.name(s.segments[len(s.segments)-1].n); name != newest && name != "configmaps" || n > keep.SegmentBytes+1024 {
			t.Errorf("record %d: %s, want a write of the newest segment %s, of a segment's size at most", i, w[0], newest)
		}
	}
	names, stored := f.stored()
	if len(names) < 4 || names[0] != "envop-audit-dev" || names[1] != "envop-audit-dev-1" || names[len(names)-1] != fmt.Sprintf("envop-audit-dev-%d", len(names)-1) {
		t.Errorf("segments %v, want envop-audit-dev, envop-audit-dev-1, ... (40 records of 2 KiB segments)", names)
	}
	if !slices.Equal(versions(stored), versions(want)) {
		t.Errorf("stored %v,\nwant %v", versions(stored), versions(want))
	}
	cms, _ := testcluster.Get(t).Client.CoreV1().ConfigMaps(f.ns).List(t.Context(), metav1.ListOptions{LabelSelector: LabelAudit + "=" + env})
	for _, cm := range cms.Items {
		if n := len(cm.Data[dataKey]); n > keep.SegmentBytes {
			t.Errorf("%s holds %d bytes, more than a segment's %d", cm.Name, n, keep.SegmentBytes)
		}
	}
	// A restart reads every segment; the newest come first.
	again := f.store(keep)
	slices.Reverse(want)
	if got := again.Select("", 0); !slices.Equal(versions(got), versions(want)) {
		t.Errorf("after a restart %v,\nwant %v", versions(got), versions(want))
	}
	if got := again.Select("web", 3); !slices.Equal(versions(got), []string{"1.0.39", "1.0.37", "1.0.35"}) {
		t.Errorf("the newest 3 of web: %v", versions(got))
	}
}

func TestStoreRetention(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		keep Retention
		// old records (two days ago) are added first, then new ones (now)
		old, recent int
		// the records kept: at least the last wantMin, at most wantMax
		wantMin, wantMax int
	}{
		// 40 records, 7 a segment: 30 new ones are within the age kept.
		{"every record within the age", Retention{Age: time.Hour, Records: 5, SegmentBytes: 2 << 10}, 10, 30, 30, 37},
		// Old records beyond the last 5 go; so do new ones beyond the bytes.
		{"the last records beyond the age", Retention{Age: time.Hour, Records: 5, SegmentBytes: 2 << 10}, 40, 0, 5, 12},
		{"the last records, some within the age", Retention{Age: time.Hour, Records: 12, SegmentBytes: 2 << 10}, 40, 3, 12, 19},
		{"bytes bound both", Retention{Age: 48 * time.Hour * 365, Records: 1000, Bytes: 6 << 10, SegmentBytes: 2 << 10}, 20, 20, 14, 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			s := f.store(tc.keep)
			var added []Record
			for i := range tc.old + tc.recent {
				at := now.Add(-48 * time.Hour)
				if i >= tc.old {
					at = now
				}
				r := record(i, at)
				f.add(s, r)
				added = append(added, r)
			}
			names, stored := f.stored()
			if len(stored) < tc.wantMin || len(stored) > tc.wantMax {
				t.Errorf("%d records kept in %v, want %d to %d", len(stored), names, tc.wantMin, tc.wantMax)
			}
			// Oldest first out: what is kept is the newest.
			if tail := added[len(added)-len(stored):]; !slices.Equal(versions(stored), versions(tail)) {
				t.Errorf("kept %v, want the newest %d: %v", versions(stored), len(stored), versions(tail))
			}
			total := 0
			for _, n := range names {
				cm, _ := testcluster.Get(t).Client.CoreV1().ConfigMaps(f.ns).Get(t.Context(), n, metav1.GetOptions{})
				total += len(cm.Data[dataKey])
			}
			if total > s.keep.Bytes {
				t.Errorf("%d bytes kept, more than %d", total, s.keep.Bytes)
			}
			if got := f.store(tc.keep).Select("", 0); len(got) != len(stored) {
				t.Errorf("a restart reads %d records, the cluster holds %d", len(got), len(stored))
			}
		})
	}
}

// TestStoreKeepsTheRecordsOfOneConfigMap: the ConfigMap earlier versions
// kept every record in is the oldest segment.
func TestStoreKeepsTheRecordsOfOneConfigMap(t *testing.T) {
	f := newFixture(t)
	var legacy []Record
	for i := range 500 {
		r := record(i, time.Now().Add(-time.Duration(500-i)*time.Minute))
		r.Message = fmt.Sprintf("applied revision %d", i) // shorter, as sync records were
		legacy = append(legacy, r)
	}
	data, _ := json.Marshal(legacy)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "envop-audit-dev", Labels: map[string]string{LabelAudit: env, "app.kubernetes.io/component": "envop-audit"}},
		Data:       map[string]string{dataKey: string(data)},
	}
	if _, err := testcluster.Get(t).Client.CoreV1().ConfigMaps(f.ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	keep := Retention{SegmentBytes: len(data) + 600}
	s := f.store(keep)
	if got := s.Select("", 0); len(got) != 500 || got[0].Version != "1.0.499" {
		t.Fatalf("loaded %d records, newest %+v", len(got), got[0])
	}
	for i := range 5 {
		f.add(s, record(1000+i, time.Now()))
	}
	names, stored := f.stored()
	if !slices.Equal(names, []string{"envop-audit-dev", "envop-audit-dev-1"}) || len(stored) != 505 {
		t.Errorf("segments %v with %d records, want the old ConfigMap appended to, then a new segment: 505", names, len(stored))
	}
	if !slices.Equal(versions(stored[:500]), versions(legacy)) {
		t.Error("the old ConfigMap's records changed")
	}
}

// TestStoreMergesAnotherWriter: two stores of one environment (a
// leadership handover) write in turn; neither loses the other's records.
func TestStoreMergesAnotherWriter(t *testing.T) {
	f := newFixture(t)
	keep := Retention{SegmentBytes: 2 << 10}
	a, b := f.store(keep), f.store(keep)
	var want []string
	for i := range 20 {
		s := a
		if i%3 == 0 {
			s = b
		}
		r := record(i, time.Now())
		f.add(s, r)
		want = append(want, r.Version)
	}
	_, stored := f.stored()
	got := versions(stored)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("stored %v, want every record once: %v", got, want)
	}
}

// TestStoreLogsEachRecordOnce: every record written is one log line; a
// sync repeating the newest is neither.
func TestStoreLogsEachRecordOnce(t *testing.T) {
	f := newFixture(t)
	log, buf := testlog.New()
	s := NewStore(f.client, f.ns, env, log, Retention{SegmentBytes: 1 << 10})
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	applied := Record{Time: time.Now(), Actor: "git", Action: ActionSync, Revision: "abc", Result: ResultSuccess, Message: "applied revision abc"}
	for i := range 8 {
		f.add(s, record(i, time.Now()))
	}
	f.add(s, applied)
	f.add(s, applied)
	_, stored := f.stored()
	lines := strings.Count(buf.String(), `"msg":"audit"`)
	if len(stored) != 9 || lines != 9 {
		t.Errorf("%d records stored, %d logged, want 9 and 9", len(stored), lines)
	}
}
