package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LabelAudit marks the environment's audit ConfigMaps; its value is the
// environment.
const LabelAudit = "envop.io/audit"

const dataKey = "records.json"

// RequiredRules are what a Store does with its ConfigMaps.
var RequiredRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
}

// Retention bounds the environment's records: the last Age and the last
// Records are kept, whichever keeps more, within Bytes. Records are stored
// in segments of at most SegmentBytes, and whole segments go, oldest first.
type Retention struct {
	Age          time.Duration
	Records      int
	Bytes        int
	SegmentBytes int
}

// DefaultRetention keeps the last 30 days or the last 10,000 records,
// within 8 MiB in segments of 256 KiB: one record costs one write of at
// most 256 KiB, and a ConfigMap holds at most 1 MiB.
var DefaultRetention = Retention{Age: 30 * 24 * time.Hour, Records: 10_000, Bytes: 8 << 20, SegmentBytes: 256 << 10}

// maxPending bounds the records kept in memory while they cannot be
// written (each is in the log already).
const maxPending = 1000

// Store keeps the environment-level records in ConfigMaps, one per
// segment: envop-audit-<env> (the one ConfigMap of earlier versions, so its
// records are the oldest), then envop-audit-<env>-1, -2, ... Records are
// appended to the newest segment only. A record that cannot be written
// stays in memory and goes out with the next write.
type Store struct {
	client    kubernetes.Interface
	namespace string
	env       string
	log       *slog.Logger
	keep      Retention

	mu       sync.Mutex
	segments []*segment // oldest first, every one as written
	pending  []Record   // accepted, not written yet
}

// segment is one ConfigMap of records.
type segment struct {
	n       int
	rv      string // "" until created
	records []Record
	bytes   int // the size of records encoded
}

// NewStore returns the store of one environment; zero fields of keep take
// DefaultRetention's.
func NewStore(client kubernetes.Interface, namespace, environment string, log *slog.Logger, keep Retention) *Store {
	d := DefaultRetention
	keep.Age = cmp.Or(keep.Age, d.Age)
	keep.Records = cmp.Or(keep.Records, d.Records)
	keep.Bytes = cmp.Or(keep.Bytes, d.Bytes)
	keep.SegmentBytes = min(cmp.Or(keep.SegmentBytes, d.SegmentBytes), keep.Bytes)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{client: client, namespace: namespace, env: environment, log: log, keep: keep}
}

// Load reads the records written before a restart.
func (s *Store) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reread(ctx)
}

// Select returns the newest records first: only service's when service is
// set, at most limit when limit > 0.
func (s *Store) Select(service string, limit int) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for r := range s.newestFirst() {
		if limit > 0 && len(out) >= limit {
			break
		}
		if service == "" || r.Service == service {
			out = append(out, r)
		}
	}
	return out
}

// newestFirst walks the records not written yet, then the segments'.
func (s *Store) newestFirst() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for _, r := range slices.Backward(s.pending) {
			if !yield(r) {
				return
			}
		}
		for _, seg := range slices.Backward(s.segments) {
			for _, r := range slices.Backward(seg.records) {
				if !yield(r) {
					return
				}
			}
		}
	}
}

// Add logs r and writes it to the newest segment, then drops the oldest
// segments the retention lets go. A sync record that repeats the newest one
// (same revision, result and message: a restart or a retry applying what
// was applied) is not a change and is dropped.
func (s *Store) Add(ctx context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Message = Truncate(r.Message, MaxMessageBytes)
	if r.Action == ActionSync && repeatsLastSync(s.newestFirst(), r) {
		return nil
	}
	Log(s.log, r)
	s.pending = append(s.pending, r)
	if n := len(s.pending) - maxPending; n > 0 {
		s.log.Error("audit records dropped from memory", "records", n, "reason", "they could not be written")
		s.pending = slices.Delete(s.pending, 0, n)
	}
	for try := 0; ; try++ {
		err := s.writePending(ctx)
		if err == nil {
			break
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) || try >= 4 {
			return fmt.Errorf("write audit record: %w", err)
		}
		// Another writer: take its segments, then write what it lacks.
		if err := s.reread(ctx); err != nil {
			return err
		}
		s.pending = s.notStored(s.pending)
	}
	s.trim(ctx)
	return nil
}

// repeatsLastSync says whether r repeats the newest sync record of records
// (newest first).
func repeatsLastSync(records iter.Seq[Record], r Record) bool {
	for last := range records {
		if last.Action == ActionSync {
			return last.Revision == r.Revision && last.Result == r.Result && last.Message == Truncate(r.Message, MaxMessageBytes)
		}
	}
	return false
}

// Log writes r as one JSON log line with a constant message, the message
// cut as where r is stored.
func Log(log *slog.Logger, r Record) {
	if log == nil {
		return
	}
	log.Info("audit", "actor", r.Actor, "address", r.Address, "action", r.Action, "service", r.Service, "version", r.Version,
		"revision", r.Revision, "result", r.Result, "message", Truncate(r.Message, MaxMessageBytes))
}

// writePending appends the pending records to the newest segment, or to
// new ones as each fills up.
func (s *Store) writePending(ctx context.Context) error {
	for len(s.pending) > 0 {
		seg, fresh := s.room(s.pending[0])
		k := 0
		for k < len(s.pending) && (k == 0 || seg.fits(s.pending[k], s.keep.SegmentBytes)) {
			seg.add(s.pending[k])
			k++
		}
		if err := s.write(ctx, seg); err != nil {
			return err
		}
		s.pending = s.pending[k:]
		if fresh {
			s.segments = append(s.segments, seg)
		} else {
			s.segments[len(s.segments)-1] = seg
		}
	}
	return nil
}

// room returns a copy of the newest segment if r fits in it, else a new
// segment after it.
func (s *Store) room(r Record) (*segment, bool) {
	if len(s.segments) == 0 {
		return &segment{n: 0, bytes: len("[]")}, true
	}
	last := s.segments[len(s.segments)-1]
	if last.fits(r, s.keep.SegmentBytes) {
		return &segment{n: last.n, rv: last.rv, records: slices.Clone(last.records), bytes: last.bytes}, false
	}
	return &segment{n: last.n + 1, bytes: len("[]")}, true
}

func (g *segment) fits(r Record, max int) bool { return g.bytes+size(r) <= max }

func (g *segment) add(r Record) {
	g.bytes += size(r)
	g.records = append(g.records, r)
}

// size is what r adds to a segment's encoding: itself and a comma.
func size(r Record) int {
	data, _ := json.Marshal(r)
	return len(data) + 1
}

// trim deletes the oldest segments the retention lets go: any while the
// records take more than the bytes allowed, else those whose every record
// is older than the age kept and beyond the number kept. The newest
// segment stays.
func (s *Store) trim(ctx context.Context) {
	total, count := 0, 0
	for _, seg := range s.segments {
		total += seg.bytes
		count += len(seg.records)
	}
	cutoff := time.Now().Add(-s.keep.Age)
	for len(s.segments) > 1 {
		old := s.segments[0]
		over := total > s.keep.Bytes
		expired := count-len(old.records) >= s.keep.Records && newest(old.records).Before(cutoff)
		if !over && !expired {
			return
		}
		if err := s.delete(ctx, old); err != nil {
			s.log.Error("audit segment not deleted", "configmap", s.name(old.n), "error", err)
			return
		}
		s.segments = s.segments[1:]
		total, count = total-old.bytes, count-len(old.records)
	}
}

func newest(records []Record) time.Time {
	var t time.Time
	for _, r := range records {
		if r.Time.After(t) {
			t = r.Time
		}
	}
	return t
}

// notStored returns the records of pending no segment holds: a write that
// failed may have landed.
func (s *Store) notStored(pending []Record) []Record {
	stored := map[Record]bool{}
	for _, seg := range s.segments {
		for _, r := range seg.records {
			stored[r] = true
		}
	}
	return slices.DeleteFunc(pending, func(r Record) bool { return stored[r] })
}

// name is segment n's ConfigMap: the first keeps the name of the one
// ConfigMap of earlier versions.
func (s *Store) name(n int) string {
	if n == 0 {
		return "envop-audit-" + s.env
	}
	return "envop-audit-" + s.env + "-" + strconv.Itoa(n)
}

// segmentNumber is the inverse of name.
func (s *Store) segmentNumber(name string) (int, bool) {
	if name == s.name(0) {
		return 0, true
	}
	digits, ok := strings.CutPrefix(name, s.name(0)+"-")
	n, err := strconv.Atoi(digits)
	return n, ok && err == nil && n > 0 && strconv.Itoa(n) == digits
}

// reread replaces the segments with those in the cluster.
func (s *Store) reread(ctx context.Context) error {
	var segments []*segment
	opts := metav1.ListOptions{LabelSelector: LabelAudit + "=" + s.env, Limit: 16}
	for {
		list, err := s.client.CoreV1().ConfigMaps(s.namespace).List(ctx, opts)
		if err != nil {
			return fmt.Errorf("read audit records: %w", err)
		}
		for i := range list.Items {
			seg, err := s.decode(&list.Items[i])
			if err != nil {
				return err
			}
			if seg != nil {
				segments = append(segments, seg)
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	slices.SortFunc(segments, func(a, b *segment) int { return a.n - b.n })
	s.segments = segments
	return nil
}

// decode reads one segment; nil for a ConfigMap of another name.
func (s *Store) decode(cm *corev1.ConfigMap) (*segment, error) {
	n, ok := s.segmentNumber(cm.Name)
	if !ok {
		s.log.Warn("audit ConfigMap ignored", "configmap", cm.Name, "reason", "not a name of this environment's audit")
		return nil, nil
	}
	data := cm.Data[dataKey]
	var records []Record
	if err := json.Unmarshal([]byte(data), &records); err != nil {
		return nil, fmt.Errorf("decode audit records of %s: %w", cm.Name, err)
	}
	return &segment{n: n, rv: cm.ResourceVersion, records: records, bytes: max(len(data), len("[]"))}, nil
}

func (s *Store) write(ctx context.Context, seg *segment) error {
	data, err := json.Marshal(seg.records)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.name(seg.n), Namespace: s.namespace, ResourceVersion: seg.rv,
			Labels: map[string]string{LabelAudit: s.env, "app.kubernetes.io/component": "envop-audit"},
		},
		Data: map[string]string{dataKey: string(data)},
	}
	cms := s.client.CoreV1().ConfigMaps(s.namespace)
	var out *corev1.ConfigMap
	if seg.rv == "" {
		out, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "envop"})
	} else {
		out, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "envop"})
	}
	if err != nil {
		return err
	}
	seg.rv, seg.bytes = out.ResourceVersion, len(data)
	return nil
}

// delete removes a segment as it was read: one another writer changed
// since is kept.
func (s *Store) delete(ctx context.Context, seg *segment) error {
	err := s.client.CoreV1().ConfigMaps(s.namespace).Delete(ctx, s.name(seg.n),
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &seg.rv}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
