package nacos

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/zelos-go/zelos/registry"
)

// ErrClosed is returned by Watch after Close, and by the Next of the
// watchers Close stopped.
var ErrClosed = errors.New("nacos: registry closed")

var errStopped = errors.New("nacos: watcher stopped")

// subscription is the Registry's one SDK subscription to a service, shared
// by its watchers. It stays until Close: the SDK answers GetService from
// its cache, which only a subscription keeps up to date, and its
// Unsubscribe would leave that cache stale.
type subscription struct {
	param    *vo.SubscribeParam // the same pointer for Unsubscribe: the SDK finds the callback by its address
	watchers map[*watcher]struct{}
}

// Watch returns a Watcher of the service's instances. Its first Next
// returns the current instances; later ones block until the SDK reports a
// change. The Watcher stops when ctx is done.
func (r *Registry) Watch(ctx context.Context, name string) (registry.Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &watcher{r: r, name: name, changed: make(chan struct{}, 1), done: make(chan struct{})}
	if err := r.attach(w); err != nil {
		return nil, err
	}
	w.stopCtx = context.AfterFunc(ctx, func() { _ = w.Stop() })
	return w, nil
}

func (r *Registry) attach(w *watcher) error {
	// subMu, not wmu, is held across Subscribe: the SDK calls the callback,
	// which takes wmu, from within Subscribe.
	r.subMu.Lock()
	defer r.subMu.Unlock()
	r.wmu.Lock()
	if r.closed {
		r.wmu.Unlock()
		return ErrClosed
	}
	sub := r.subs[w.name]
	if sub != nil {
		sub.watchers[w] = struct{}{}
		r.wmu.Unlock()
		return nil
	}
	sub = &subscription{watchers: map[*watcher]struct{}{w: {}}}
	sub.param = &vo.SubscribeParam{
		ServiceName: w.name,
		GroupName:   r.o.group,
		SubscribeCallback: func(hosts []model.Instance, err error) {
			if err == nil {
				r.changed(w.name, hosts)
			}
		},
	}
	r.subs[w.name] = sub
	r.wmu.Unlock()
	if err := r.client.Subscribe(sub.param); err != nil {
		r.wmu.Lock()
		delete(r.subs, w.name)
		r.wmu.Unlock()
		_ = r.client.Unsubscribe(sub.param)
		return fmt.Errorf("nacos: subscribe to %q: %w", w.name, err)
	}
	return nil
}

// changed is the SDK callback: it hands the service's instances to its
// watchers. The SDK calls it from the goroutine that reads the server's
// pushes, one change after the other, and from Subscribe.
func (r *Registry) changed(name string, hosts []model.Instance) {
	list := r.fromNacos(name, hosts)
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if sub := r.subs[name]; sub != nil {
		for w := range sub.watchers {
			w.offer(list)
		}
	}
}

func (r *Registry) detach(w *watcher) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if sub := r.subs[w.name]; sub != nil {
		delete(sub.watchers, w)
	}
}

// Close stops every Watcher of the Registry, whose Next then returns
// ErrClosed, and ends its subscriptions. It does not close the SDK client,
// which the caller made, and does not deregister anything.
func (r *Registry) Close() error {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	r.wmu.Lock()
	if r.closed {
		r.wmu.Unlock()
		return nil
	}
	r.closed = true
	subs := r.subs
	r.subs = map[string]*subscription{}
	r.wmu.Unlock()
	var errs []error
	for _, sub := range subs {
		for w := range sub.watchers {
			w.end(ErrClosed)
		}
		if err := r.client.Unsubscribe(sub.param); err != nil {
			errs = append(errs, fmt.Errorf("nacos: unsubscribe from %q: %w", sub.param.ServiceName, err))
		}
	}
	return errors.Join(errs...)
}

// watcher is one Watch.
type watcher struct {
	r       *Registry
	name    string
	changed chan struct{} // holds one wake-up at most
	done    chan struct{}
	once    sync.Once
	stopCtx func() bool

	mu     sync.Mutex
	latest []*registry.ServiceInstance // guarded by mu
	why    error                       // why the watcher ended; guarded by mu

	started bool                        // only Next touches it
	last    []*registry.ServiceInstance // returned last; only Next touches it
}

func (w *watcher) offer(list []*registry.ServiceInstance) {
	w.mu.Lock()
	w.latest = list
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default: // one is pending, and reads latest
	}
}

// Next returns the current instances at once on its first call, and then
// blocks until the SDK reports a list that differs from the last one
// returned.
func (w *watcher) Next() ([]*registry.ServiceInstance, error) {
	if err := w.ended(); err != nil {
		return nil, err
	}
	if !w.started {
		w.started = true
		list, err := w.r.GetService(context.Background(), w.name)
		if err != nil {
			return nil, err
		}
		w.last = list
		return list, nil
	}
	for {
		select {
		case <-w.done:
			return nil, w.ended()
		case <-w.changed:
		}
		// A wake-up and Stop may come together; Stop wins, so that a
		// stopped watcher never returns a list.
		if err := w.ended(); err != nil {
			return nil, err
		}
		w.mu.Lock()
		list := w.latest
		w.mu.Unlock()
		if reflect.DeepEqual(list, w.last) {
			continue // the SDK's call from Subscribe, or a push that changed nothing we list
		}
		w.last = list
		return list, nil
	}
}

func (w *watcher) ended() error {
	select {
	case <-w.done:
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.why
	default:
		return nil
	}
}

func (w *watcher) end(why error) {
	w.once.Do(func() {
		w.mu.Lock()
		w.why = why
		w.mu.Unlock()
		close(w.done)
	})
}

// Stop ends the watcher; a blocked Next returns an error. It is safe to
// call more than once and from any goroutine.
func (w *watcher) Stop() error {
	w.end(errStopped)
	if w.stopCtx != nil {
		w.stopCtx()
	}
	w.r.detach(w)
	return nil
}
