package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envop/envop/internal/render"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// DefaultSyncTimeout bounds how long Start waits for the first lists.
const DefaultSyncTimeout = time.Minute

// Monitor keeps the health of an environment's workloads from namespaced
// watches. Reads never reach the API server: they come from results cached
// per workload, recomputed from the informer caches only for workloads whose
// objects changed since the last read.
type Monitor struct {
	namespace, environment string
	log                    *slog.Logger
	syncTimeout            time.Duration

	factory                                informers.SharedInformerFactory
	watched                                []watched
	deployments, statefulSets, replicaSets cache.SharedIndexInformer
	pods, jobs, cronJobs, autoscalers      cache.SharedIndexInformer
	started, synced                        atomic.Bool
	changed                                *notifier
	results                                results
}

// watched is one informer and what its objects mean to the results.
type watched struct {
	resource string
	informer cache.SharedIndexInformer
	indexers cache.Indexers
	keys     func(metav1.Object) []string
}

// Selector selects the objects of environment that envop manages.
func Selector(environment string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{
		render.LabelManagedBy:   render.ManagedBy,
		render.LabelEnvironment: environment,
	})
}

// NewMonitor prepares a Monitor for the workloads of environment in
// namespace; Start starts it.
func NewMonitor(client kubernetes.Interface, namespace, environment string, log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	selector := Selector(environment).String()
	f := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }),
		informers.WithTransform(dropManagedFields))
	m := &Monitor{
		namespace: namespace, environment: environment, log: log, syncTimeout: DefaultSyncTimeout,
		factory:      f,
		deployments:  f.Apps().V1().Deployments().Informer(),
		statefulSets: f.Apps().V1().StatefulSets().Informer(),
		replicaSets:  f.Apps().V1().ReplicaSets().Informer(),
		pods:         f.Core().V1().Pods().Informer(),
		jobs:         f.Batch().V1().Jobs().Informer(),
		cronJobs:     f.Batch().V1().CronJobs().Informer(),
		autoscalers:  f.Autoscaling().V2().HorizontalPodAutoscalers().Informer(),
		changed:      newNotifier(),
		results:      results{all: true, dirty: map[string]struct{}{}, index: map[string]int{}},
	}
	instance := cache.Indexers{indexInstance: byInstance}
	owner := cache.Indexers{indexOwner: byOwner}
	m.watched = []watched{
		{"deployments", m.deployments, instance, workloadKeys},
		{"statefulsets", m.statefulSets, instance, workloadKeys},
		{"replicasets", m.replicaSets, owner, memberKeys},
		{"pods", m.pods, owner, memberKeys},
		{"jobs", m.jobs, cache.Indexers{indexInstance: byInstance, indexOwner: byOwner}, workloadKeys},
		{"cronjobs", m.cronJobs, instance, workloadKeys},
		{"horizontalpodautoscalers", m.autoscalers, cache.Indexers{indexTarget: byTarget}, hpaKeys},
	}
	return m
}

// Start starts the informers and waits until their caches hold the
// namespace's objects. They run until ctx ends; when Start fails, end ctx.
func (m *Monitor) Start(ctx context.Context) error {
	if m.namespace == "" || m.environment == "" {
		return errors.New("a namespace and an environment are required")
	}
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("already started")
	}
	for _, w := range m.watched {
		if err := m.register(w); err != nil {
			return fmt.Errorf("%s informer: %w", w.resource, err)
		}
	}
	m.factory.Start(ctx.Done())
	if err := m.waitForSync(ctx); err != nil {
		return err
	}
	m.synced.Store(true)
	m.log.Info("health caches synced", "namespace", m.namespace, "environment", m.environment)
	return nil
}

func (m *Monitor) register(w watched) error {
	if err := w.informer.AddIndexers(w.indexers); err != nil {
		return fmt.Errorf("add indexers: %w", err)
	}
	if err := w.informer.SetWatchErrorHandler(m.watchErrorHandler(w.resource)); err != nil {
		return fmt.Errorf("set watch error handler: %w", err)
	}
	_, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.onChange(w.keys, obj) },
		UpdateFunc: func(old, obj any) { m.onChange(w.keys, old, obj) },
		DeleteFunc: func(obj any) { m.onChange(w.keys, obj) },
	})
	if err != nil {
		return fmt.Errorf("add event handler: %w", err)
	}
	return nil
}

// watchErrorHandler replaces klog's output with ours; the reflector retries
// with back-off whatever we do. A missing right shows up here first.
func (m *Monitor) watchErrorHandler(resource string) cache.WatchErrorHandler {
	return func(_ *cache.Reflector, err error) {
		switch {
		case errors.Is(err, io.EOF):
			// The watch closed normally; the reflector resumes it.
		case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
			m.log.Debug("health watch expired", "resource", resource, "namespace", m.namespace, "error", err)
		default:
			m.log.Warn("health watch failed", "resource", resource, "namespace", m.namespace, "error", err)
		}
	}
}

func (m *Monitor) waitForSync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.syncTimeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		return len(m.unsynced()) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("caches of %s in namespace %q not synced within %s (can the account list and watch them?): %w",
			strings.Join(m.unsynced(), ", "), m.namespace, m.syncTimeout, err)
	}
	return nil
}

func (m *Monitor) unsynced() []string {
	var out []string
	for _, w := range m.watched {
		if !w.informer.HasSynced() {
			out = append(out, w.resource)
		}
	}
	return out
}

// Synced tells whether the caches were filled once: before that, the
// results describe a partial view.
func (m *Monitor) Synced() bool { return m.synced.Load() }

// Changed wakes its one reader whenever a watched object changed. Wake-ups
// coalesce (buffer of one): after one, read the current state. Readers that
// need their own wake-ups use Subscribe.
func (m *Monitor) Changed() <-chan struct{} { return m.changed.def }

// Subscribe returns a channel that behaves like Changed's but belongs to the
// caller alone, and the function that ends the subscription.
func (m *Monitor) Subscribe() (<-chan struct{}, func()) { return m.changed.subscribe() }

// Workload returns the health of the workload named name (its instance
// label), computed from the caches.
func (m *Monitor) Workload(name string) (Workload, bool) {
	m.results.mu.Lock()
	defer m.results.mu.Unlock()
	m.refreshLocked()
	pos, ok := m.results.index[name]
	if !ok {
		return Workload{}, false
	}
	return m.results.sorted[pos], true
}

// Workloads returns the health of every managed workload, sorted by name.
func (m *Monitor) Workloads() []Workload {
	m.results.mu.Lock()
	defer m.results.mu.Unlock()
	m.refreshLocked()
	return slices.Clone(m.results.sorted)
}

// onChange runs on the informers' goroutines after their caches took in
// the change, so a read that follows recomputes from the new state.
func (m *Monitor) onChange(keys func(metav1.Object) []string, objs ...any) {
	m.results.mu.Lock()
	for _, obj := range objs {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		o, err := meta.Accessor(obj)
		if err != nil {
			m.results.all = true
			continue
		}
		m.results.invalidate(keys(o))
	}
	m.results.mu.Unlock()
	m.changed.notify()
}

// Generation changes whenever the health of a workload does: a change to
// a watched object that leaves every workload as it was (an autoscaler's
// periodic status, a resync) keeps it, so what is built from Workloads
// (GET /status) can be reused.
func (m *Monitor) Generation() uint64 {
	m.results.mu.Lock()
	defer m.results.mu.Unlock()
	m.refreshLocked()
	return m.results.generation
}

// results caches the evaluated workloads sorted by name, with each one's
// position; dirty names (or all) are recomputed on the next read. Workloads
// are replaced in place, so the common read after an event costs one
// evaluation; the slice is only reshaped when a workload comes or goes.
type results struct {
	mu     sync.Mutex
	all    bool
	dirty  map[string]struct{}
	sorted []Workload
	index  map[string]int
	// generation counts the refreshes that changed a workload.
	generation uint64
}

func (r *results) invalidate(keys []string) {
	if len(keys) == 0 {
		r.all = true
	}
	for _, k := range keys {
		r.dirty[k] = struct{}{}
	}
}

func (m *Monitor) refreshLocked() {
	r := &m.results
	if r.all {
		r.sorted, r.index = nil, map[string]int{}
		for _, key := range m.instances() {
			r.dirty[key] = struct{}{}
		}
		r.all = false
	}
	gone := map[string]bool{}
	reshape, changed := false, false
	for key := range r.dirty {
		w, ok := m.evaluate(key)
		pos, had := r.index[key]
		switch {
		case ok && had:
			changed = changed || !reflect.DeepEqual(r.sorted[pos], w)
			r.sorted[pos] = w
		case ok:
			r.sorted = append(r.sorted, w)
			reshape = true
		case had:
			gone[key] = true
			reshape = true
		}
	}
	clear(r.dirty)
	if reshape {
		r.reshape(gone)
	}
	if reshape || changed {
		r.generation++
	}
}

func (r *results) reshape(gone map[string]bool) {
	r.sorted = slices.DeleteFunc(r.sorted, func(w Workload) bool { return gone[w.Name] })
	slices.SortFunc(r.sorted, func(a, b Workload) int { return cmp.Compare(a.Name, b.Name) })
	clear(r.index)
	for i, w := range r.sorted {
		r.index[w.Name] = i
	}
}

// instances lists the names of every cached workload.
func (m *Monitor) instances() []string {
	var keys []string
	for _, inf := range []cache.SharedIndexInformer{m.deployments, m.statefulSets, m.jobs, m.cronJobs} {
		keys = append(keys, inf.GetIndexer().ListIndexFuncValues(indexInstance)...)
	}
	return keys
}

// evaluate computes the workload named key from the caches. One name is
// one workload; should several objects claim it, the kinds are tried in a
// fixed order and the first by object name wins.
func (m *Monitor) evaluate(key string) (Workload, bool) {
	if d, ok := first(indexed[*appsv1.Deployment](m.deployments, indexInstance, key)); ok {
		return m.evaluateDeployment(d), true
	}
	if s, ok := first(indexed[*appsv1.StatefulSet](m.statefulSets, indexInstance, key)); ok {
		return EvaluateStatefulSet(s, indexed[*corev1.Pod](m.pods, indexOwner, string(s.UID))), true
	}
	if c, ok := first(indexed[*batchv1.CronJob](m.cronJobs, indexInstance, key)); ok {
		return EvaluateCronJob(c, indexed[*batchv1.Job](m.jobs, indexOwner, string(c.UID))), true
	}
	if j := newestJob(standaloneJobs(indexed[*batchv1.Job](m.jobs, indexInstance, key))); j != nil {
		return EvaluateJob(j, indexed[*corev1.Pod](m.pods, indexOwner, string(j.UID))), true
	}
	return Workload{}, false
}

func (m *Monitor) evaluateDeployment(d *appsv1.Deployment) Workload {
	rss := indexed[*appsv1.ReplicaSet](m.replicaSets, indexOwner, string(d.UID))
	var pods []*corev1.Pod
	for _, rs := range rss {
		pods = append(pods, indexed[*corev1.Pod](m.pods, indexOwner, string(rs.UID))...)
	}
	hpa, _ := first(indexed[*autoscalingv2.HorizontalPodAutoscaler](m.autoscalers, indexTarget, targetKey(KindDeployment, d.Name)))
	return EvaluateDeployment(d, rss, pods, hpa)
}
