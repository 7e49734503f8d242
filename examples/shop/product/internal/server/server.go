// Package server registers the product service on its HTTP and gRPC
// servers, and runs the sweeper of expired reservations.
package server

import (
	"context"
	"sync"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	v1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/product/internal/service"
	"github.com/zelos-go/zelos/log"
)

// Register serves products on svc's gRPC server and, through the
// google.api.http rules of product.proto, on its HTTP server.
func Register(svc *kit.Service, products *service.ProductService) {
	v1.RegisterProductServiceServer(svc.GRPC, products)
	v1.RegisterProductServiceHTTPServer(svc.HTTP, products)
}

// Sweeper releases expired reservations every interval, from Start to
// Stop (the App's AfterStart and BeforeStop hooks).
type Sweeper struct {
	uc       *biz.ProductUsecase
	interval time.Duration
	log      *log.Helper

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewSweeper returns a Sweeper of uc's reservations.
func NewSweeper(uc *biz.ProductUsecase, interval time.Duration, logger log.Logger) *Sweeper {
	return &Sweeper{uc: uc, interval: interval, log: log.NewHelper(logger)}
}

// Start starts sweeping; ctx is not kept.
func (s *Sweeper) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interval <= 0 || s.cancel != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.run(ctx, s.done)
	return nil
}

func (s *Sweeper) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.uc.Expire(ctx); err != nil && ctx.Err() == nil {
				s.log.Warnw("msg", "releasing expired reservations failed", "error", err.Error())
			}
		}
	}
}

// Stop stops sweeping and waits for a sweep in progress.
func (s *Sweeper) Stop(context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}
