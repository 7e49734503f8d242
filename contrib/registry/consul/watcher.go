package consul

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// Watch returns a Watcher of a service's passing instances. Its first Next
// reads them at once; later calls run Consul blocking queries
// (?index=&wait=) from the last index until the list changes.
//
// When a query fails (Consul is unreachable, say), Next keeps the last list
// and tries again with backoff rather than report an empty list. When
// Consul's index goes backwards (its state was restored, or a server with an
// older index answered), the watcher starts over from index 0, as Consul's
// documentation of blocking queries asks.
func (r *Registry) Watch(ctx context.Context, serviceName string) (registry.Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("consul: watch %q: %w", serviceName, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	return &watcher{r: r, name: serviceName, parent: ctx, ctx: wctx, cancel: cancel, stopped: make(chan struct{})}, nil
}

// Between queries that report no change the watcher waits at least this
// long, so that a misbehaving server cannot make it spin.
const minQueryInterval = 50 * time.Millisecond

// watcher is the Watcher returned by Registry.Watch.
type watcher struct {
	r      *Registry
	name   string
	parent context.Context // given to Watch
	ctx    context.Context // parent, canceled by Stop
	cancel context.CancelFunc

	stopOnce sync.Once
	stopped  chan struct{}

	mu      sync.Mutex // serializes Next; guards the fields below
	started bool
	index   uint64
	last    []*registry.ServiceInstance
}

// Next returns the passing instances at once on its first call; later calls
// block until they change, Stop is called (registry.ErrWatcherStopped) or
// the context given to Watch is done (its error). The list is sorted by ID.
func (w *watcher) Next() ([]*registry.ServiceInstance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.err(); err != nil {
		return nil, err
	}
	if !w.started {
		list, index, err := w.r.query(w.ctx, w.name, 0)
		if err != nil {
			if werr := w.err(); werr != nil {
				return nil, werr
			}
			return nil, fmt.Errorf("consul: watch %q: %w", w.name, err)
		}
		w.started, w.index, w.last = true, max(index, 1), list
		return list, nil
	}
	b := backoff.Reconnect().Start()
	for {
		list, index, err := w.r.query(w.ctx, w.name, w.index)
		if err != nil {
			if werr := w.err(); werr != nil {
				return nil, werr
			}
			w.r.log(log.LevelWarn, "msg", "consul: watch query failed, keeping the last instances", "service", w.name, "error", err)
			if !w.sleep(b.Next()) {
				return nil, w.err()
			}
			continue
		}
		b.Reset()
		switch {
		case index < w.index:
			w.index = 0 // the index went backwards: start over
		default:
			w.index = max(index, 1) // an index of 0 would not block
		}
		if !equal(list, w.last) {
			w.last = list
			return list, nil
		}
		if !w.sleep(minQueryInterval) {
			return nil, w.err()
		}
	}
}

// sleep waits d; it reports false if the watcher ended meanwhile.
func (w *watcher) sleep(d time.Duration) bool { return backoff.Sleep(w.ctx, nil, d) == nil }

// err reports why the watcher ended, or nil.
func (w *watcher) err() error {
	select {
	case <-w.stopped:
		return registry.ErrWatcherStopped
	default:
	}
	return w.parent.Err()
}

// Stop stops the watcher and cancels its blocking query. A blocked Next
// returns registry.ErrWatcherStopped. Stop is idempotent.
func (w *watcher) Stop() error {
	w.stopOnce.Do(func() {
		close(w.stopped)
		w.cancel()
	})
	return nil
}

// equal reports whether two lists sorted by ID hold the same instances.
func equal(a, b []*registry.ServiceInstance) bool {
	return slices.EqualFunc(a, b, func(x, y *registry.ServiceInstance) bool {
		return x.ID == y.ID && x.Name == y.Name && x.Version == y.Version &&
			maps.Equal(x.Metadata, y.Metadata) && slices.Equal(x.Endpoints, y.Endpoints)
	})
}
