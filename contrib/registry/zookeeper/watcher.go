package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/registry"
)

// Watch returns a Watcher of a service's instances. Its first Next reads
// them; later calls wait on ZooKeeper watches of the service znode's
// children and of each instance's data, read the list again when one fires,
// and return it if it changed.
//
// While ZooKeeper is unreachable Next keeps waiting, so a caller keeps the
// last list it got: the client sets its watches again when it reconnects,
// and after a session expired the watcher reads the list again, with
// backoff, until ZooKeeper answers.
func (r *Registry) Watch(ctx context.Context, serviceName string) (registry.Watcher, error) {
	if err := r.check(ctx); err != nil {
		return nil, fmt.Errorf("zookeeper: watch %q: %w", serviceName, err)
	}
	return &watcher{r: r, name: serviceName, ctx: ctx, stopped: make(chan struct{})}, nil
}

// watcher is the Watcher returned by Registry.Watch.
type watcher struct {
	r    *Registry
	name string
	ctx  context.Context // given to Watch

	stopOnce sync.Once
	stopped  chan struct{}

	mu      sync.Mutex // serializes Next; guards the fields below
	started bool
	last    []*registry.ServiceInstance
	watches []<-chan zk.Event // armed by the last read; nil: read again
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
		if err := w.r.awaitSession(w.ctx); err != nil {
			return nil, fmt.Errorf("zookeeper: watch %q: %w", w.name, err)
		}
		list, watches, err := w.r.read(w.name, true)
		if err != nil {
			return nil, fmt.Errorf("zookeeper: watch %q: read instances: %w", w.name, err)
		}
		w.started, w.last, w.watches = true, list, watches
		return list, nil
	}
	for {
		if w.watches != nil {
			if err := w.wait(); err != nil {
				return nil, err
			}
		}
		list, err := w.readRetry()
		if err != nil {
			return nil, err
		}
		if !slices.EqualFunc(list, w.last, same) {
			w.last = list
			return list, nil
		}
	}
}

// wait blocks until one of the armed watches fires, and disarms them all:
// the next read arms new ones.
func (w *watcher) wait() error {
	cases := make([]reflect.SelectCase, 0, len(w.watches)+3)
	for _, ch := range []<-chan struct{}{w.stopped, w.ctx.Done(), w.r.life.Done()} {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	for _, ch := range w.watches {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	// The watches not chosen stay registered in the client until they fire
	// or the session ends; their channels are buffered, so they never block
	// it.
	chosen, _, _ := reflect.Select(cases)
	w.watches = nil
	if chosen < 3 {
		return w.err()
	}
	return nil
}

// readRetry reads the list and arms watches, retrying with backoff while
// ZooKeeper cannot be reached, until the watcher ends.
func (w *watcher) readRetry() ([]*registry.ServiceInstance, error) {
	b := backoff.Reconnect().Start()
	for {
		list, watches, err := w.r.read(w.name, true)
		if err == nil {
			w.watches = watches
			return list, nil
		}
		if werr := w.err(); werr != nil {
			return nil, werr
		}
		if errors.Is(err, zk.ErrClosing) {
			return nil, ErrClosed
		}
		select {
		case <-w.stopped:
		case <-w.ctx.Done():
		case <-w.r.life.Done():
		case <-time.After(b.Next()):
			continue
		}
		return nil, w.err()
	}
}

// err reports why the watcher ended, or nil.
func (w *watcher) err() error {
	select {
	case <-w.stopped:
		return registry.ErrWatcherStopped
	default:
	}
	if err := w.ctx.Err(); err != nil {
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
	w.stopOnce.Do(func() { close(w.stopped) })
	return nil
}

// same reports whether two listed instances are equal, field by field.
func same(a, b *registry.ServiceInstance) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Version == b.Version &&
		reflect.DeepEqual(a.Metadata, b.Metadata) && slices.Equal(a.Endpoints, b.Endpoints)
}
