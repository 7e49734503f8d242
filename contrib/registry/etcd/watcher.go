package etcd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/registry"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// resyncTimeout bounds one read of a service's full list by a watcher.
const resyncTimeout = 5 * time.Second

// Watch returns a Watcher of a service's instances. Its first Next reads
// the instances from etcd; later calls wait for a change on an etcd watch of
// the service's prefix and return the full list.
//
// While etcd is unreachable Next keeps waiting, so a caller keeps the last
// list it got; the watch resumes when etcd is back. If etcd can no longer
// resume it (the revision was compacted), the watcher reads the list again
// and reports it if it changed.
func (r *Registry) Watch(ctx context.Context, serviceName string) (registry.Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("etcd: watch %q: %w", serviceName, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	return &watcher{
		client:  r.client,
		name:    serviceName,
		prefix:  r.prefix(serviceName),
		parent:  ctx,
		ctx:     wctx,
		cancel:  cancel,
		stopped: make(chan struct{}),
	}, nil
}

// watcher is the Watcher returned by Registry.Watch.
type watcher struct {
	client *clientv3.Client
	name   string
	prefix string
	parent context.Context // given to Watch
	ctx    context.Context // parent, canceled by Stop
	cancel context.CancelFunc

	stopOnce sync.Once
	stopped  chan struct{}

	mu      sync.Mutex // serializes Next; guards the fields below
	started bool
	values  map[string]string // key -> stored value, as last read
	dirty   bool              // values changed since the last Next
	wch     clientv3.WatchChan
	wcancel context.CancelFunc // ends wch
}

// Next returns the instances at once on its first call; later calls block
// until they change, Stop is called (registry.ErrWatcherStopped) or the
// context given to Watch is done (its error). The list is sorted by ID.
func (w *watcher) Next() ([]*registry.ServiceInstance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.err(); err != nil {
		return nil, err
	}
	if !w.started {
		ctx, cancel := context.WithTimeout(w.ctx, resyncTimeout)
		err := w.resync(ctx)
		cancel()
		if err != nil {
			if werr := w.err(); werr != nil {
				return nil, werr
			}
			return nil, fmt.Errorf("etcd: watch %q: read instances: %w", w.name, err)
		}
		w.started = true
		return w.list(), nil
	}
	for !w.dirty {
		if w.wch == nil {
			if err := w.resyncRetry(); err != nil {
				return nil, err
			}
			continue
		}
		select {
		case resp, ok := <-w.wch:
			w.handle(resp, ok)
			// Take what else is ready, to report one list for a burst.
			for drained := false; !drained && w.wch != nil; {
				select {
				case resp, ok := <-w.wch:
					w.handle(resp, ok)
				default:
					drained = true
				}
			}
		case <-w.ctx.Done():
			return nil, w.err()
		}
	}
	return w.list(), nil
}

// handle applies one response of the etcd watch. A closed or canceled watch
// is dropped, to be opened again by resync.
func (w *watcher) handle(resp clientv3.WatchResponse, ok bool) {
	if !ok || resp.Canceled || resp.Err() != nil {
		w.closeWatch()
		return
	}
	for _, ev := range resp.Events {
		key := string(ev.Kv.Key)
		if ev.Type == clientv3.EventTypeDelete {
			if _, had := w.values[key]; had {
				delete(w.values, key)
				w.dirty = true
			}
			continue
		}
		if v := string(ev.Kv.Value); w.values[key] != v {
			w.values[key] = v
			w.dirty = true
		}
	}
}

// resync reads the full list and opens an etcd watch from the revision after
// it. It sets dirty if the list differs from the one held.
func (w *watcher) resync(ctx context.Context) error {
	resp, err := w.client.Get(ctx, w.prefix, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	values := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		values[string(kv.Key)] = string(kv.Value)
	}
	if !w.started || !maps.Equal(values, w.values) {
		w.values = values
		w.dirty = true
	}
	w.closeWatch()
	wctx, cancel := context.WithCancel(w.ctx)
	w.wcancel = cancel
	w.wch = w.client.Watch(wctx, w.prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	return nil
}

// resyncRetry calls resync until it succeeds or the watcher ends.
func (w *watcher) resyncRetry() error {
	b := backoff.Reconnect().Start()
	for {
		ctx, cancel := context.WithTimeout(w.ctx, resyncTimeout)
		err := w.resync(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if werr := w.err(); werr != nil {
			return werr
		}
		if w.client.Ctx().Err() != nil {
			return fmt.Errorf("etcd: watch %q: %w", w.name, err)
		}
		if backoff.Sleep(w.ctx, nil, b.Next()) != nil {
			return w.err()
		}
	}
}

func (w *watcher) closeWatch() {
	if w.wcancel != nil {
		w.wcancel()
	}
	w.wch, w.wcancel = nil, nil
}

// list decodes the held values sorted by key, that is by ID.
func (w *watcher) list() []*registry.ServiceInstance {
	w.dirty = false
	keys := slices.Sorted(maps.Keys(w.values))
	out := make([]*registry.ServiceInstance, 0, len(keys))
	for _, k := range keys {
		if in := decode([]byte(w.values[k])); in != nil {
			out = append(out, in)
		}
	}
	return out
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
	return nil
}

// Stop stops the watcher and its etcd watch. A blocked Next returns
// registry.ErrWatcherStopped. Stop is idempotent.
func (w *watcher) Stop() error {
	w.stopOnce.Do(func() {
		close(w.stopped)
		w.cancel()
	})
	return nil
}
