package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// ErrWatcherStopped is returned by Watcher.Next once Stop has been called.
var ErrWatcherStopped = errors.New("registry: watcher stopped")

// InMemory is a Registrar and Discovery that keeps instances in the memory
// of one process. It is the embedded default for development and tests.
//
// InMemory copies instances in and out: callers never share memory with it.
// The zero value is not usable; create one with NewInMemory.
type InMemory struct {
	mu       sync.Mutex
	services map[string][]*ServiceInstance // by name, in registration order
	watchers map[string]map[*memoryWatcher]struct{}
}

// NewInMemory returns an empty in-memory registry.
func NewInMemory() *InMemory {
	return &InMemory{
		services: make(map[string][]*ServiceInstance),
		watchers: make(map[string]map[*memoryWatcher]struct{}),
	}
}

// Register adds an instance, or replaces the registered instance of the same
// name with the same ID, and wakes the service's watchers.
func (r *InMemory) Register(ctx context.Context, service *ServiceInstance) error {
	if err := validate("register", service); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("registry: register %q (id %q): %w", service.Name, service.ID, err)
	}
	in := cloneInstance(service)
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.services[in.Name]
	if i := indexOf(list, in.ID); i >= 0 {
		// Copy on write: lists handed to watchers are never modified.
		list = slices.Clone(list)
		list[i] = in
	} else {
		list = append(list[:len(list):len(list)], in)
	}
	r.services[in.Name] = list
	r.notifyLocked(in.Name)
	return nil
}

// Deregister removes the instance of the service's name with the service's
// ID and wakes the service's watchers. Removing an unknown instance is not an
// error.
func (r *InMemory) Deregister(ctx context.Context, service *ServiceInstance) error {
	if err := validate("deregister", service); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("registry: deregister %q (id %q): %w", service.Name, service.ID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.services[service.Name]
	i := indexOf(list, service.ID)
	if i < 0 {
		return nil
	}
	if len(list) == 1 {
		delete(r.services, service.Name)
	} else {
		r.services[service.Name] = slices.Delete(slices.Clone(list), i, i+1)
	}
	r.notifyLocked(service.Name)
	return nil
}

// GetService returns copies of the instances of a service, in registration
// order. An unknown service has no instances and is not an error.
func (r *InMemory) GetService(ctx context.Context, serviceName string) ([]*ServiceInstance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("registry: get service %q: %w", serviceName, err)
	}
	r.mu.Lock()
	list := r.services[serviceName]
	r.mu.Unlock()
	return cloneList(list), nil
}

// Watch returns a Watcher of a service's instances. The watcher ends when it
// is stopped or ctx is done; until then it holds no goroutine.
func (r *InMemory) Watch(ctx context.Context, serviceName string) (Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("registry: watch %q: %w", serviceName, err)
	}
	w := &memoryWatcher{
		reg:     r,
		ctx:     ctx,
		name:    serviceName,
		changed: make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	r.mu.Lock()
	set := r.watchers[serviceName]
	if set == nil {
		set = make(map[*memoryWatcher]struct{})
		r.watchers[serviceName] = set
	}
	set[w] = struct{}{}
	r.mu.Unlock()
	// Forget the watcher when its context ends, even if Stop is never called.
	w.unhook = context.AfterFunc(ctx, w.remove)
	return w, nil
}

// notifyLocked wakes the watchers of name. r.mu must be held.
func (r *InMemory) notifyLocked(name string) {
	for w := range r.watchers[name] {
		select {
		case w.changed <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// memoryWatcher is the Watcher returned by InMemory.Watch.
type memoryWatcher struct {
	reg     *InMemory
	ctx     context.Context
	name    string
	changed chan struct{} // capacity 1: a pending change
	stopped chan struct{} // closed by Stop
	once    sync.Once
	unhook  func() bool

	mu      sync.Mutex // serializes Next
	started bool
}

// Next returns the current instances at once on its first call; later calls
// block until the instances change, Stop is called (ErrWatcherStopped) or the
// context given to Watch is done (its error).
func (w *memoryWatcher) Next() ([]*ServiceInstance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.err(); err != nil {
		return nil, err
	}
	if w.started {
		select {
		case <-w.changed:
		case <-w.stopped:
			return nil, ErrWatcherStopped
		case <-w.ctx.Done():
			return nil, w.ctx.Err()
		}
	}
	w.started = true
	r := w.reg
	r.mu.Lock()
	// Drop a pending wake-up: the list read now already includes it.
	select {
	case <-w.changed:
	default:
	}
	list := r.services[w.name]
	r.mu.Unlock()
	return cloneList(list), nil
}

func (w *memoryWatcher) err() error {
	select {
	case <-w.stopped:
		return ErrWatcherStopped
	default:
	}
	return w.ctx.Err()
}

// Stop stops the watcher. A blocked Next returns ErrWatcherStopped. Stop is
// idempotent.
func (w *memoryWatcher) Stop() error {
	w.once.Do(func() {
		close(w.stopped)
		w.unhook()
		w.remove()
	})
	return nil
}

// remove unsubscribes the watcher from its registry.
func (w *memoryWatcher) remove() {
	r := w.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.watchers[w.name]
	delete(set, w)
	if len(set) == 0 {
		delete(r.watchers, w.name)
	}
}

func validate(op string, s *ServiceInstance) error {
	switch {
	case s == nil:
		return fmt.Errorf("registry: %s: nil service instance", op)
	case s.Name == "":
		return fmt.Errorf("registry: %s: instance %q has no name", op, s.ID)
	case s.ID == "":
		return fmt.Errorf("registry: %s: instance of %q has no ID", op, s.Name)
	}
	return nil
}

func indexOf(list []*ServiceInstance, id string) int {
	return slices.IndexFunc(list, func(s *ServiceInstance) bool { return s.ID == id })
}

func cloneInstance(s *ServiceInstance) *ServiceInstance {
	c := *s
	c.Metadata = maps.Clone(s.Metadata)
	c.Endpoints = slices.Clone(s.Endpoints)
	return &c
}

func cloneList(list []*ServiceInstance) []*ServiceInstance {
	out := make([]*ServiceInstance, len(list))
	for i, s := range list {
		out[i] = cloneInstance(s)
	}
	return out
}
