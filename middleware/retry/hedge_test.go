package retry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/transport"
)

func TestHedge(t *testing.T) {
	t.Run("first reply wins, loser canceled", func(t *testing.T) {
		var calls atomic.Int32
		canceled := make(chan struct{})
		h := func(ctx context.Context, _ any) (any, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done() // the slow first attempt
				close(canceled)
				return nil, ctx.Err()
			}
			return "backup", nil
		}
		start := time.Now()
		reply, err := retry.Client(retry.WithHedge(20*time.Millisecond), retry.WithBudget(nil))(h)(context.Background(), nil)
		if err != nil || reply != "backup" {
			t.Fatalf("reply, err = %v, %v; want the backup's reply", reply, err)
		}
		if d := time.Since(start); d < 20*time.Millisecond {
			t.Errorf("the backup went after %v; want the 20ms hedge delay", d)
		}
		select {
		case <-canceled:
		case <-time.After(5 * time.Second):
			t.Fatal("the first attempt was not canceled")
		}
	})
	t.Run("a fast reply sends no backup", func(t *testing.T) {
		var calls atomic.Int32
		h := func(context.Context, any) (any, error) { calls.Add(1); return "ok", nil }
		_, _ = retry.Client(retry.WithHedge(time.Second), retry.WithBudget(nil))(h)(context.Background(), nil)
		if calls.Load() != 1 {
			t.Errorf("calls = %d; want 1", calls.Load())
		}
	})
	t.Run("failures are retried after the backoff", func(t *testing.T) {
		var calls atomic.Int32
		_, err := retry.Client(retry.WithHedge(time.Second), retry.WithDelay(time.Millisecond), retry.WithBudget(nil))(failing(unavailable, &calls))(context.Background(), nil)
		if calls.Load() != 3 || err == nil {
			t.Errorf("calls = %d, err = %v; want 3 and the 503", calls.Load(), err)
		}
	})
	t.Run("a non-retryable reply wins", func(t *testing.T) {
		var calls atomic.Int32
		_, err := retry.Client(retry.WithHedge(time.Second), retry.WithBudget(nil))(failing(errNotFound, &calls))(context.Background(), nil)
		if calls.Load() != 1 || err != errNotFound {
			t.Errorf("calls = %d, err = %v; want 1 and the 404", calls.Load(), err)
		}
	})
	t.Run("the caller's cancellation ends it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		h := func(ctx context.Context, _ any) (any, error) { <-ctx.Done(); return nil, ctx.Err() }
		_, err := retry.Client(retry.WithHedge(time.Hour), retry.WithBudget(nil))(h)(ctx, nil)
		if err == nil {
			t.Error("err = nil; want the deadline")
		}
	})
	// A client Transporter is one call's state: one that cannot fork keeps
	// the attempts sequential.
	t.Run("sequential over a Transporter that does not fork", func(t *testing.T) {
		var calls, inFlight, most atomic.Int32
		h := func(context.Context, any) (any, error) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			if n > most.Load() {
				most.Store(n)
			}
			calls.Add(1)
			time.Sleep(20 * time.Millisecond)
			return nil, unavailable
		}
		ctx := transport.NewClientContext(context.Background(), newFakeTransport(transport.KindHTTP))
		_, _ = retry.Client(retry.WithHedge(time.Millisecond), retry.WithDelay(0), retry.WithBudget(nil))(h)(ctx, nil)
		if most.Load() != 1 || calls.Load() != 3 {
			t.Errorf("at most %d attempts at once over %d; want 1 over 3", most.Load(), calls.Load())
		}
	})
}
