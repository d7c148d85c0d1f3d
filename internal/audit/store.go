package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LabelAudit marks the environment's audit ConfigMap; its value is the
// environment.
const LabelAudit = "envop.io/audit"

const dataKey = "records.json"

// Store keeps the environment-level records in a ConfigMap. A record that
// cannot be written stays in memory and goes out with the next write.
type Store struct {
	client    kubernetes.Interface
	namespace string
	name      string
	env       string
	log       *slog.Logger

	mu      sync.Mutex
	records []Record
	rv      string
}

// NewStore returns the store of one environment.
func NewStore(client kubernetes.Interface, namespace, environment string, log *slog.Logger) *Store {
	return &Store{client: client, namespace: namespace, name: "envop-audit-" + environment, env: environment, log: log}
}

// Load reads the records written before a restart.
func (s *Store) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reread(ctx)
}

// Records returns a copy of the records, oldest first.
func (s *Store) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

// Add logs r and writes it to the store. A sync record that repeats the
// newest one (same revision, result and message: a restart or a retry
// applying what was applied) is not a change and is dropped.
func (s *Store) Add(ctx context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Action == ActionSync && repeatsLastSync(s.records, r) {
		return nil
	}
	Log(s.log, r)
	s.records = Append(s.records, r, MaxEnvironment)
	for try := 0; try < 5; try++ {
		err := s.write(ctx)
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("write audit record: %w", err)
		}
		pending := s.records
		if err := s.reread(ctx); err != nil {
			return err
		}
		s.records = mergeNew(s.records, pending)
	}
	return fmt.Errorf("write audit record: too many conflicts")
}

func repeatsLastSync(records []Record, r Record) bool {
	for i := len(records) - 1; i >= 0; i-- {
		if last := records[i]; last.Action == ActionSync {
			return last.Revision == r.Revision && last.Result == r.Result && last.Message == Truncate(r.Message, MaxMessageBytes)
		}
	}
	return false
}

// Log writes r as one JSON log line with a constant message.
func Log(log *slog.Logger, r Record) {
	if log == nil {
		return
	}
	log.Info("audit", "actor", r.Actor, "address", r.Address, "action", r.Action, "service", r.Service, "version", r.Version,
		"revision", r.Revision, "result", r.Result, "message", r.Message)
}

func (s *Store) reread(ctx context.Context) error {
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.rv = ""
		return nil
	}
	if err != nil {
		return fmt.Errorf("read audit records: %w", err)
	}
	var records []Record
	if err := json.Unmarshal([]byte(cm.Data[dataKey]), &records); err != nil {
		return fmt.Errorf("decode audit records: %w", err)
	}
	s.records, s.rv = records, cm.ResourceVersion
	return nil
}

func (s *Store) write(ctx context.Context) error {
	data, err := json.Marshal(s.records)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.name, Namespace: s.namespace, ResourceVersion: s.rv,
			Labels: map[string]string{LabelAudit: s.env, "app.kubernetes.io/component": "envop-audit"},
		},
		Data: map[string]string{dataKey: string(data)},
	}
	cms := s.client.CoreV1().ConfigMaps(s.namespace)
	var out *corev1.ConfigMap
	if s.rv == "" {
		out, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "envop"})
	} else {
		out, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "envop"})
	}
	if err != nil {
		return err
	}
	s.rv = out.ResourceVersion
	return nil
}

// mergeNew adds to stored the records of pending it does not hold yet.
func mergeNew(stored, pending []Record) []Record {
	seen := map[Record]bool{}
	for _, r := range stored {
		seen[r] = true
	}
	for _, r := range pending {
		if !seen[r] {
			stored = Append(stored, r, MaxEnvironment)
			seen[r] = true
		}
	}
	return stored
}
