package server_test

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"

	shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/order/internal/data"
	"github.com/zelos-go/zelos/examples/shop/order/internal/server"
	"github.com/zelos-go/zelos/log"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// countingRepo counts the recovery passes: each lists the unsettled
// orders once.
type countingRepo struct {
	biz.OrderRepo
	passes chan struct{}
}

func (r countingRepo) ListUnsettled(ctx context.Context, before time.Time, limit int) ([]*biz.Order, error) {
	select {
	case r.passes <- struct{}{}:
	default:
	}
	return r.OrderRepo.ListUnsettled(ctx, before, limit)
}

func newRecoverer(t *testing.T) (*server.Recoverer, chan struct{}) {
	t.Helper()
	g, _, closeDB, err := data.Open(context.Background(), shopconf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeDB)
	passes := make(chan struct{}, 1)
	// No order needs work, so the clients are never called.
	uc := biz.NewOrderUsecase(countingRepo{data.NewOrderRepo(g), passes}, nil, nil, log.NewStdLogger(io.Discard))
	return server.NewRecoverer(uc, 10*time.Millisecond, log.NewStdLogger(io.Discard)), passes
}

func TestRecoverer(t *testing.T) {
	t.Run("runs passes until stopped", func(t *testing.T) {
		r, passes := newRecoverer(t)
		done := make(chan error, 1)
		go func() { done <- r.Start(context.Background()) }()
		for range 3 {
			select {
			case <-passes:
			case <-time.After(5 * time.Second):
				t.Fatal("no recovery pass")
			}
		}
		if err := r.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	t.Run("a stop before the start", func(t *testing.T) {
		r, _ := newRecoverer(t)
		if err := r.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- r.Start(context.Background()) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Start after Stop runs on")
		}
	})
	t.Run("the App's context ends it", func(t *testing.T) {
		r, _ := newRecoverer(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Start(ctx) }()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
}
