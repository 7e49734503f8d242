// Package selector picks the node a client request goes to.
//
// A Selector is configured once, with a balancer, node filters and,
// optionally, a registry.Discovery:
//
//	sl := selector.NewSelector(selector.Registry(disco), selector.Balancer(wrr.Name))
//
// and is shared by clients (grpc.WithSelector, http.WithSelector). Each
// client builds a Picker from it for its target, feeds the Picker the nodes
// of the target's instances (Apply) and calls Select for every request. The
// Selector can also be used alone: Selector.Select watches the service in the
// registry and picks one of its nodes.
//
// Balancers register themselves by name from their packages: random,
// roundrobin, wrr (smooth weighted round robin) and p2c (power of two
// choices, the default, built in). Node filters, such as those of package
// filter, narrow the nodes per selector, per call (WithNodeFilter) or per
// context (NewFilterContext).
//
// Outlier ejection works with every balancer: a node with 5 backend failures
// in a row (EjectAfter) is left out of the picks for 30 s (EjectionTime) times
// its number of ejections, never more than half the nodes at once
// (MaxEjectedShare), and comes back on its own when the ejection ends.
//
// Node updates are swapped in atomically; selecting without filters does not
// allocate, except for p2c's DoneFunc.
package selector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zelos-go/zelos/registry"
)

// Option configures a Selector.
type Option func(*options)

type options struct {
	disco    registry.Discovery
	balancer string
	filters  []NodeFilter
	eject    ejectConfig
}

// Registry sets the Discovery that Selector.Select, and clients dialing
// discovery:///name targets, find instances with.
func Registry(d registry.Discovery) Option {
	return func(o *options) { o.disco = d }
}

// Balancer sets the balancer by its registered name, such as wrr.Name. The
// default is p2c. The balancer's package must be imported so it registers
// itself.
func Balancer(name string) Option {
	return func(o *options) { o.balancer = name }
}

// Filter adds node filters applied to every selection.
func Filter(f ...NodeFilter) Option {
	return func(o *options) { o.filters = append(o.filters, f...) }
}

// Selector holds a balancer, node filters and an optional registry. Clients
// build their Pickers from it; Select picks a node of a service by name. It
// is safe for concurrent use.
type Selector struct {
	disco   registry.Discovery
	entry   balancerEntry
	filters []NodeFilter
	eject   ejectConfig

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // watcher goroutines

	mu       sync.Mutex
	closed   bool
	services map[string]*serviceWatch
}

// NewSelector returns a Selector. It panics if the Balancer option names a
// balancer that is not registered (its package is not imported).
func NewSelector(opts ...Option) *Selector {
	o := options{balancer: defaultBalancer, eject: defaultEjectConfig()}
	for _, opt := range opts {
		opt(&o)
	}
	e, ok := lookupBalancer(o.balancer)
	if !ok {
		panic(fmt.Sprintf("selector: unknown balancer %q: import its package (such as selector/wrr) so that it registers itself", o.balancer))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Selector{
		disco:    o.disco,
		entry:    e,
		filters:  o.filters,
		eject:    o.eject,
		ctx:      ctx,
		cancel:   cancel,
		services: make(map[string]*serviceWatch),
	}
}

var defaultSelector = sync.OnceValue(func() *Selector { return NewSelector() })

// Default returns the process-wide default Selector: p2c, no filters and no
// registry. Clients use it when given no selector.
func Default() *Selector { return defaultSelector() }

// Build returns a new Picker with the selector's balancer and filters.
func (s *Selector) Build() Picker { return newPicker(s.entry, s.filters, "", s.eject) }

// Discovery returns the Registry option's Discovery, or nil.
func (s *Selector) Discovery() registry.Discovery { return s.disco }

// Select picks a node of a service found with the Registry option. The first
// call for a service starts watching it (one goroutine per service, stopped by
// Close) and waits for its instances or ctx. By default each instance
// contributes its first endpoint; WithScheme restricts to one scheme.
func (s *Selector) Select(ctx context.Context, service string, opts ...SelectOption) (Node, DoneFunc, error) {
	if s.disco == nil {
		return nil, nil, fmt.Errorf("selector: select %q: no Registry option", service)
	}
	w, err := s.watch(service)
	if err != nil {
		return nil, nil, err
	}
	select {
	case <-w.ready:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("selector: select %q: waiting for instances: %w", service, ctx.Err())
	}
	if w.err != nil {
		return nil, nil, w.err
	}
	scheme := ""
	if len(opts) > 0 {
		var o SelectOptions
		for _, opt := range opts {
			opt(&o)
		}
		scheme = o.Scheme
	}
	return w.picker(s, scheme).Select(ctx, opts...)
}

// Close stops watching services. Select fails afterwards; Build and the
// Pickers still work. Close is idempotent.
func (s *Selector) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// watch returns the serviceWatch of service, starting it if needed.
func (s *Selector) watch(service string) (*serviceWatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("selector: select %q: selector closed", service)
	}
	if w, ok := s.services[service]; ok {
		return w, nil
	}
	w := &serviceWatch{service: service, ready: make(chan struct{}), pickers: make(map[string]*picker)}
	s.services[service] = w
	s.wg.Add(1)
	go s.run(w)
	return w, nil
}

// forget removes w so that the next Select starts a new watch.
func (s *Selector) forget(w *serviceWatch) {
	s.mu.Lock()
	if s.services[w.service] == w {
		delete(s.services, w.service)
	}
	s.mu.Unlock()
}

// run keeps w up to date until Close, with the watch loop of every client
// (registry.Follow), which watches again with backoff after a failure and
// keeps the last known instances meanwhile. One difference: a watch that
// fails before its first list ends the loop, because Selects are waiting
// for that list; they get the error, w is forgotten, and the next Select
// watches anew.
func (s *Selector) run(w *serviceWatch) {
	defer s.wg.Done()
	err := registry.Follow(s.ctx, s.disco, w.service, w.update,
		registry.OnWatchError(func(error, time.Duration) bool { return w.isReady() }))
	switch {
	case w.isReady():
	case s.ctx.Err() != nil:
		w.fail(fmt.Errorf("selector: select %q: selector closed", w.service))
	default:
		s.forget(w)
		w.fail(fmt.Errorf("selector: watch service %q: %w", w.service, err))
	}
}

// serviceWatch is the state of one service watched by Selector.Select.
type serviceWatch struct {
	service string
	ready   chan struct{} // closed after the first update or a failure
	err     error         // set before ready is closed, if the watch failed

	mu        sync.Mutex
	instances []*registry.ServiceInstance
	pickers   map[string]*picker // by scheme
}

func (w *serviceWatch) isReady() bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}

func (w *serviceWatch) fail(err error) {
	w.err = err
	close(w.ready)
}

func (w *serviceWatch) update(list []*registry.ServiceInstance) {
	w.mu.Lock()
	w.instances = list
	for scheme, p := range w.pickers {
		p.Apply(NodesFromInstances(scheme, list))
	}
	w.mu.Unlock()
	if !w.isReady() {
		close(w.ready)
	}
}

// picker returns the picker of the scheme, creating it if needed.
func (w *serviceWatch) picker(s *Selector, scheme string) *picker {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pickers[scheme]
	if !ok {
		p = newPicker(s.entry, s.filters, w.service, s.eject)
		p.Apply(NodesFromInstances(scheme, w.instances))
		w.pickers[scheme] = p
	}
	return p
}
