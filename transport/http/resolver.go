package http

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
)

// resolver keeps a Picker up to date with the instances of a service.
type resolver struct {
	picker selector.Picker
	cancel context.CancelFunc
	done   chan struct{}
}

// newResolver follows service in d (registry.Follow: a failed watch is
// logged and watched again with backoff) and applies its scheme endpoints to
// p from a goroutine, until close. With block it waits, until ctx is done,
// for a first update with nodes.
func newResolver(ctx context.Context, d registry.Discovery, p selector.Picker, service, scheme string, block bool, logger log.Logger) (*resolver, error) {
	wctx, cancel := context.WithCancel(context.Background())
	r := &resolver{picker: p, cancel: cancel, done: make(chan struct{})}
	ready := make(chan struct{})
	var once sync.Once
	update := func(ins []*registry.ServiceInstance) {
		nodes := selector.NodesFromInstances(scheme, ins)
		p.Apply(nodes)
		if len(nodes) > 0 {
			once.Do(func() { close(ready) })
		}
	}
	onError := func(err error, retryIn time.Duration) bool {
		_ = logger.Log(log.LevelError, "msg", "transport/http: discovery watch failed, watching again", "service", service, "retry_in", retryIn.String(), "error", err.Error())
		return true
	}
	go func() {
		defer close(r.done)
		_ = registry.Follow(wctx, d, service, update, registry.OnWatchError(onError))
	}()
	if block {
		select {
		case <-ready:
		case <-ctx.Done():
			r.close()
			return nil, fmt.Errorf("transport/http: waiting for nodes of service %q: %w", service, ctx.Err())
		}
	}
	return r, nil
}

// close stops the watch and waits for the goroutine.
func (r *resolver) close() {
	r.cancel()
	<-r.done
}
