package state

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// Labels and names of the state ConfigMaps.
const (
	// LabelState marks a state ConfigMap; its value is the environment.
	LabelState = "envop.io/state"
	// ConfigMapPrefix starts every state ConfigMap's name.
	ConfigMapPrefix = "envop-state-"
	dataKey         = "state.json"
	maxUpdateTries  = 5
)

// Store reads and writes service state; it keeps a copy in memory so reads
// cost no API request, and writes go through before they return.
type Store struct {
	client      kubernetes.Interface
	namespace   string
	environment string

	// mu guards services and locks; a service's lock serializes its updates.
	mu       sync.Mutex
	services map[string]*entry
	// running names the services with a deploy not ended, so that finding
	// the running deploys costs what they are, not every service's history.
	running map[string]bool
	locks   map[string]*sync.Mutex
	// generation changes with every change to the stored state.
	generation atomic.Uint64
}

type entry struct {
	svc *Service
	// resourceVersion of the ConfigMap, "" when it does not exist yet.
	resourceVersion string
}

// NewStore returns a store for one environment's namespace.
func NewStore(client kubernetes.Interface, namespace, environment string) *Store {
	return &Store{client: client, namespace: namespace, environment: environment,
		services: map[string]*entry{}, running: map[string]bool{}}
}

// Load reads every state ConfigMap of the environment.
func (s *Store) Load(ctx context.Context) error {
	list, err := s.client.CoreV1().ConfigMaps(s.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: LabelState + "=" + s.environment,
	})
	if err != nil {
		return fmt.Errorf("list state config maps: %w", err)
	}
	services := map[string]*entry{}
	running := map[string]bool{}
	for i := range list.Items {
		cm := &list.Items[i]
		svc, err := decode(cm)
		if err != nil {
			return err
		}
		services[svc.Name] = &entry{svc: svc, resourceVersion: cm.ResourceVersion}
		if svc.hasRunning() {
			running[svc.Name] = true
		}
	}
	s.mu.Lock()
	s.services, s.running = services, running
	s.mu.Unlock()
	s.generation.Add(1)
	return nil
}

// Get returns a copy of a service's state.
func (s *Store) Get(name string) (*Service, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.services[name]
	if !ok {
		return nil, false
	}
	return e.svc.Clone(), true
}

// Len is the number of services with state.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.services)
}

// Read calls fn with the stored services, under the store's lock, without
// copying them: fn must neither keep nor modify anything it is given. It
// serves hot paths (GET /status) that would otherwise copy every history.
func (s *Store) Read(fn func(services map[string]*Service)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	view := make(map[string]*Service, len(s.services))
	for name, e := range s.services {
		view[name] = e.svc
	}
	fn(view)
}

// Running returns the deploys that have not ended yet.
func (s *Store) Running() []Deploy {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deploy
	for name := range s.running {
		for _, d := range s.services[name].svc.History {
			if !d.Done() {
				out = append(out, d)
			}
		}
	}
	return out
}

// FindDeploy returns a deploy by id from any service.
func (s *Store) FindDeploy(id string) (Deploy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.services {
		if d, ok := e.svc.Deploy(id); ok {
			return d, true
		}
	}
	return Deploy{}, false
}

// Update applies fn to a copy of the service's state and writes it; fn is
// retried on a write conflict with the state read again. It returns the
// state written. Nothing is written when fn leaves the state unchanged.
// Updates of one service are serialized; different services' run in
// parallel (the store-wide lock is never held across a request).
func (s *Store) Update(ctx context.Context, name string, fn func(*Service) error) (*Service, error) {
	lock := s.serviceLock(name)
	lock.Lock()
	defer lock.Unlock()
	for try := 0; ; try++ {
		cur := s.current(name)
		next := cur.svc.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		if equal(cur.svc, next) && cur.resourceVersion != "" {
			return next, nil
		}
		rv, err := s.write(ctx, next, cur.resourceVersion)
		if err == nil {
			s.set(name, &entry{svc: next, resourceVersion: rv})
			return next.Clone(), nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) || try >= maxUpdateTries {
			return nil, fmt.Errorf("write state of service %q: %w", name, err)
		}
		if err := s.reread(ctx, name); err != nil {
			return nil, err
		}
	}
}

func (s *Store) serviceLock(name string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	l, ok := s.locks[name]
	if !ok {
		l = &sync.Mutex{}
		s.locks[name] = l
	}
	return l
}

// Generation changes whenever the stored state does.
func (s *Store) Generation() uint64 { return s.generation.Load() }

func (s *Store) set(name string, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.generation.Add(1)
	if e == nil {
		delete(s.services, name)
		delete(s.running, name)
		return
	}
	s.services[name] = e
	if e.svc.hasRunning() {
		s.running[name] = true
	} else {
		delete(s.running, name)
	}
}

// hasRunning says whether a deploy of the service has not ended.
func (svc *Service) hasRunning() bool {
	for _, d := range svc.History {
		if !d.Done() {
			return true
		}
	}
	return false
}

// current returns the cached entry, or an empty one for a new service.
func (s *Store) current(name string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.services[name]; ok {
		return e
	}
	return &entry{svc: &Service{Name: name}}
}

func (s *Store) reread(ctx context.Context, name string) error {
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, ConfigMapPrefix+name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.set(name, nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state of service %q: %w", name, err)
	}
	svc, err := decode(cm)
	if err != nil {
		return err
	}
	s.set(name, &entry{svc: svc, resourceVersion: cm.ResourceVersion})
	return nil
}

func (s *Store) write(ctx context.Context, svc *Service, resourceVersion string) (string, error) {
	data, err := json.Marshal(svc)
	if err != nil {
		return "", fmt.Errorf("encode state: %w", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ConfigMapPrefix + svc.Name,
			Namespace:       s.namespace,
			ResourceVersion: resourceVersion,
			Labels: map[string]string{
				LabelState:                     s.environment,
				"app.kubernetes.io/component":  "envop-state",
				"app.kubernetes.io/created-by": "envop",
			},
		},
		Data: map[string]string{dataKey: string(data)},
	}
	cms := s.client.CoreV1().ConfigMaps(s.namespace)
	var out *corev1.ConfigMap
	if resourceVersion == "" {
		out, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "envop"})
	} else {
		out, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "envop"})
	}
	if err != nil {
		return "", err
	}
	return out.ResourceVersion, nil
}

func decode(cm *corev1.ConfigMap) (*Service, error) {
	var svc Service
	if err := json.Unmarshal([]byte(cm.Data[dataKey]), &svc); err != nil {
		return nil, fmt.Errorf("decode state config map %s: %w", cm.Name, err)
	}
	if svc.Name == "" {
		return nil, fmt.Errorf("state config map %s names no service", cm.Name)
	}
	return &svc, nil
}

func equal(a, b *Service) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// Kinds are the kinds of the legacy custom resource services the state
// remembers, including services the file no longer names: what pruning
// must list besides the kinds envop renders, even after a restart.
func (s *Store) Kinds() []schema.GroupKind {
	var out []schema.GroupKind
	s.Read(func(services map[string]*Service) {
		for _, svc := range services {
			if svc.Kind != "" {
				out = append(out, schema.ParseGroupKind(svc.Kind))
			}
		}
	})
	return out
}
