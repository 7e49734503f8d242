package eureka

import (
	"context"
	"fmt"
	"sync"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/registry"
)

// Watch returns a Watcher of a service's instances. Eureka has no change
// notification: the watcher fetches the service every refresh interval
// and its Next returns when the list differs from the last one returned.
// While Eureka cannot be reached Next keeps waiting, fetching again with
// backoff, so a caller keeps the last list it got.
func (r *Registry) Watch(ctx context.Context, serviceName string) (registry.Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eureka: watch %q: %w", serviceName, err)
	}
	if r.life.Err() != nil {
		return nil, fmt.Errorf("eureka: watch %q: %w", serviceName, ErrClosed)
	}
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.life, cancel)
	return &watcher{r: r, name: serviceName, parent: ctx, ctx: wctx, cancel: cancel, unhook: stop, stopped: make(chan struct{})}, nil
}

// watcher is the Watcher returned by Registry.Watch.
type watcher struct {
	r      *Registry
	name   string
	parent context.Context // given to Watch
	ctx    context.Context // parent, canceled by Stop and Close
	cancel context.CancelFunc
	unhook func() bool

	stopOnce sync.Once
	stopped  chan struct{} // closed by Stop

	mu      sync.Mutex // serializes Next
	started bool
	last    []*registry.ServiceInstance
}

// Next returns the instances at once on its first call; later calls block
// until they change, Stop is called (registry.ErrWatcherStopped), the
// context given to Watch is done (its error) or the Registry is closed
// (ErrClosed). The list is sorted by ID.
func (w *watcher) Next() ([]*registry.ServiceInstance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.err(); err != nil {
		return nil, err
	}
	if !w.started {
		list, err := w.r.fetch(w.ctx, w.name)
		if err != nil {
			if werr := w.err(); werr != nil {
				return nil, werr
			}
			return nil, fmt.Errorf("eureka: watch %q: %w", w.name, err)
		}
		w.started, w.last = true, list
		return list, nil
	}
	b := backoff.Reconnect().Start()
	for wait := w.r.opts.refresh; ; {
		if backoff.Sleep(w.ctx, nil, wait) != nil {
			return nil, w.err()
		}
		wait = w.r.opts.refresh
		list, err := w.r.fetch(w.ctx, w.name)
		if werr := w.err(); werr != nil {
			return nil, werr
		}
		if err != nil {
			wait = min(b.Next(), w.r.opts.refresh)
			continue
		}
		b.Reset()
		if !sameInstances(list, w.last) {
			w.last = list
			return list, nil
		}
	}
}

// err reports why the watcher ended, or nil.
func (w *watcher) err() error {
	select {
	case <-w.stopped:
		return registry.ErrWatcherStopped
	default:
	}
	if err := w.parent.Err(); err != nil {
		return err
	}
	if w.r.life.Err() != nil {
		return ErrClosed
	}
	return nil
}

// Stop stops the watcher. A blocked Next returns registry.ErrWatcherStopped.
// Stop is idempotent.
func (w *watcher) Stop() error {
	w.stopOnce.Do(func() {
		close(w.stopped)
		w.unhook()
		w.cancel()
	})
	return nil
}
