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
	picker  selector.Picker
	watcher registry.Watcher
	cancel  context.CancelFunc
	done    chan struct{}
}

// newResolver watches service in d and applies its scheme endpoints to p
// from a goroutine, until close. With block it waits, until ctx is done,
// for a first update with nodes.
func newResolver(ctx context.Context, d registry.Discovery, p selector.Picker, service, scheme string, block bool, logger log.Logger) (*resolver, error) {
	wctx, cancel := context.WithCancel(context.Background())
	w, err := d.Watch(wctx, service)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("http: watching service %q: %w", service, err)
	}
	r := &resolver{picker: p, watcher: w, cancel: cancel, done: make(chan struct{})}
	ready := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(r.done)
		for {
			ins, err := w.Next()
			if wctx.Err() != nil {
				return
			}
			if err != nil {
				_ = logger.Log(log.LevelError, "msg", "http: discovery watch failed", "service", service, "error", err.Error())
				select {
				case <-wctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			nodes := selector.NodesFromInstances(scheme, ins)
			p.Apply(nodes)
			if len(nodes) > 0 {
				once.Do(func() { close(ready) })
			}
		}
	}()
	if block {
		select {
		case <-ready:
		case <-ctx.Done():
			r.close()
			return nil, fmt.Errorf("http: waiting for nodes of service %q: %w", service, ctx.Err())
		}
	}
	return r, nil
}

// close stops the watch and waits for the goroutine.
func (r *resolver) close() {
	r.cancel()
	_ = r.watcher.Stop()
	<-r.done
}
