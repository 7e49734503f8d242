package timeout_test

import (
	"context"
	"testing"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/timeout"
)

// remaining returns the time left before the handler's deadline.
func remaining(t *testing.T, ctx context.Context, d time.Duration) (time.Duration, bool) {
	t.Helper()
	var left time.Duration
	var ok bool
	h := timeout.Server(d)(func(ctx context.Context, _ any) (any, error) {
		var dl time.Time
		dl, ok = ctx.Deadline()
		left = time.Until(dl)
		return nil, nil
	})
	if _, err := h(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return left, ok
}

func TestSetsDeadline(t *testing.T) {
	left, ok := remaining(t, context.Background(), time.Minute)
	if !ok || left > time.Minute || left < 50*time.Second {
		t.Errorf("no deadline: got %v, %v; want about a minute", left, ok)
	}
}

func TestShortensLaterDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if left, _ := remaining(t, ctx, time.Minute); left > time.Minute {
		t.Errorf("later deadline: %v left, want at most a minute", left)
	}
}

func TestKeepsEarlierDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if left, _ := remaining(t, ctx, time.Hour); left > time.Second {
		t.Errorf("earlier deadline: %v left, want at most a second", left)
	}
}

func TestZeroIsNoTimeout(t *testing.T) {
	if _, ok := remaining(t, context.Background(), 0); ok {
		t.Error("a zero timeout set a deadline")
	}
}

func TestExpiry(t *testing.T) {
	h := timeout.Client(10 * time.Millisecond)(func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if _, err := h(context.Background(), nil); !errors.IsGatewayTimeout(err) {
		t.Errorf("error = %v, want a 504", err)
	}
}
