package http

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
)

// flakyDiscovery hands out watchers in turn: watcher i returns lists[i]
// once, then fails every Next, as a watcher broken by a registry outage
// does. Watch calls beyond the lists get a watcher that blocks until
// stopped.
type flakyDiscovery struct {
	mu      sync.Mutex
	lists   [][]*registry.ServiceInstance
	watches int
}

func (d *flakyDiscovery) GetService(context.Context, string) ([]*registry.ServiceInstance, error) {
	return nil, errors.New("not used")
}

func (d *flakyDiscovery) Watch(ctx context.Context, _ string) (registry.Watcher, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := &flakyWatcher{stop: make(chan struct{})}
	if d.watches < len(d.lists) {
		w.list = d.lists[d.watches]
	} else {
		w.block = true
	}
	d.watches++
	return w, nil
}

func (d *flakyDiscovery) watchCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.watches
}

type flakyWatcher struct {
	list  []*registry.ServiceInstance
	block bool
	sent  bool
	once  sync.Once
	stop  chan struct{}
}

func (w *flakyWatcher) Next() ([]*registry.ServiceInstance, error) {
	if w.block {
		<-w.stop
		return nil, registry.ErrWatcherStopped
	}
	if !w.sent {
		w.sent = true
		return w.list, nil
	}
	select {
	case <-w.stop:
		return nil, registry.ErrWatcherStopped
	default:
		return nil, errors.New("connection to the registry lost")
	}
}

func (w *flakyWatcher) Stop() error {
	w.once.Do(func() { close(w.stop) })
	return nil
}

func resolverInstance(id, endpoint string) *registry.ServiceInstance {
	return &registry.ServiceInstance{ID: id, Name: "svc", Endpoints: []string{endpoint}}
}

// TestResolverWatchesAgainAfterFailure: a watcher whose Next fails is
// broken for good; the resolver must start a new watch, not call Next on
// the broken one forever.
func TestResolverWatchesAgainAfterFailure(t *testing.T) {
	d := &flakyDiscovery{lists: [][]*registry.ServiceInstance{
		{resolverInstance("a", "http://127.0.0.1:1001")},
		{resolverInstance("b", "http://127.0.0.1:1002")},
	}}
	p := selector.NewSelector().Build()
	r, err := newResolver(context.Background(), d, p, "svc", "http", true, log.NewStdLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, done, err := p.Select(context.Background())
		if err == nil {
			done(context.Background(), selector.DoneInfo{})
			if n.Address() == "127.0.0.1:1002" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes of the second watch never arrived; Watch was called %d times", d.watchCount())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := d.watchCount(); got < 2 {
		t.Errorf("Watch called %d times, want at least 2", got)
	}
}

// recordLogger keeps the messages it is given.
type recordLogger struct {
	mu   sync.Mutex
	msgs []string
}

func (l *recordLogger) Log(_ log.Level, kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "msg" {
			l.msgs = append(l.msgs, kv[i+1].(string))
		}
	}
	return nil
}

func (l *recordLogger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msgs)
}

func TestResolverBlock(t *testing.T) {
	t.Run("times out without nodes, logging the failed watch", func(t *testing.T) {
		// One list without http endpoints, then a failure, then a watcher
		// that never answers.
		d := &flakyDiscovery{lists: [][]*registry.ServiceInstance{{resolverInstance("a", "grpc://127.0.0.1:1")}}}
		logger := &recordLogger{}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := newResolver(ctx, d, selector.NewSelector().Build(), "svc", "http", true, logger)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("newResolver = %v, want DeadlineExceeded", err)
		}
		if logger.count() == 0 {
			t.Error("the failed watch was not logged")
		}
	})
	t.Run("does not wait without block", func(t *testing.T) {
		d := &flakyDiscovery{}
		r, err := newResolver(context.Background(), d, selector.NewSelector().Build(), "svc", "http", false, log.NewStdLogger(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		r.close()
	})
}
