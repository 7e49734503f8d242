// Package server registers the order service on its HTTP and gRPC servers
// and runs the recovery loop beside them.
package server

import (
	"context"
	"sync"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/order/internal/service"
	"github.com/zelos-go/zelos/log"
)

// Register serves orders on svc's gRPC server and, through the
// google.api.http rules of order.proto, on its HTTP server.
func Register(svc *kit.Service, orders *service.OrderService) {
	v1.RegisterOrderServiceServer(svc.GRPC, orders)
	v1.RegisterOrderServiceHTTPServer(svc.HTTP, orders)
}

// Recoverer runs biz.OrderUsecase.Recover every interval. It is a
// transport.Server so that the App starts and stops it with the servers:
// orders are recovered only while the service runs, and a stop waits for
// the pass in progress.
type Recoverer struct {
	uc       *biz.OrderUsecase
	interval time.Duration
	log      *log.Helper

	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped bool // Stop came first: Start returns at once
	done    chan struct{}
}

// NewRecoverer returns a Recoverer of uc's orders.
func NewRecoverer(uc *biz.OrderUsecase, interval time.Duration, logger log.Logger) *Recoverer {
	return &Recoverer{uc: uc, interval: interval, log: log.NewHelper(logger), done: make(chan struct{})}
}

// Start runs the loop until Stop is called or ctx ends.
func (r *Recoverer) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.cancel = cancel
	r.mu.Unlock()
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := r.uc.Recover(ctx); err != nil && ctx.Err() == nil {
			r.log.Errorf("order recovery: %v", err)
		}
	}
}

// Stop ends the loop and waits for the pass in progress, or for ctx.
func (r *Recoverer) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel := r.cancel
	r.stopped = true
	r.mu.Unlock()
	if cancel == nil {
		return nil // not started: Start will not run the loop
	}
	cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
