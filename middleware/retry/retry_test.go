package retry_test

import (
	"context"
	stderrors "errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/circuitbreaker"
	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/resilience/budget"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock advances only when slept on, and records the sleeps.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.advance(d)
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

var unavailable = errors.ServiceUnavailable("UNAVAILABLE", "down")

// failing returns a handler that fails with err and counts its calls.
func failing(err error, calls *atomic.Int32) middleware.Handler {
	return func(context.Context, any) (any, error) {
		calls.Add(1)
		return nil, err
	}
}

func TestBackoffTimings(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name string
		opts []retry.Option
		want []time.Duration
	}{
		{"exponential", []retry.Option{retry.WithBackoff(retry.BackoffExponential)}, []time.Duration{100 * ms, 200 * ms, 400 * ms}},
		{"default is exponential", nil, []time.Duration{100 * ms, 200 * ms, 400 * ms}},
		{"linear", []retry.Option{retry.WithBackoff(retry.BackoffLinear)}, []time.Duration{100 * ms, 200 * ms, 300 * ms}},
		{"constant", []retry.Option{retry.WithBackoff(retry.BackoffConstant)}, []time.Duration{100 * ms, 100 * ms, 100 * ms}},
		{"max delay", []retry.Option{retry.WithMaxDelay(150 * ms)}, []time.Duration{100 * ms, 150 * ms, 150 * ms}},
		{"delay", []retry.Option{retry.WithDelay(10 * ms)}, []time.Duration{10 * ms, 20 * ms, 40 * ms}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			var calls atomic.Int32
			opts := append([]retry.Option{retry.WithAttempts(4), retry.WithJitter(0), retry.WithBudget(nil), retry.WithClock(clock)}, tc.opts...)
			_, err := retry.Client(opts...)(failing(unavailable, &calls))(context.Background(), nil)
			if !errors.IsServiceUnavailable(err) {
				t.Fatalf("err = %v; want the backend's 503", err)
			}
			if calls.Load() != 4 {
				t.Errorf("calls = %d; want 4", calls.Load())
			}
			if got := clock.slept(); !slices.Equal(got, tc.want) {
				t.Errorf("sleeps = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	cases := []struct {
		name string
		opts []retry.Option
		want time.Duration
	}{
		{"default low end", []retry.Option{retry.WithRand(func() float64 { return 0 })}, 80 * time.Millisecond},
		{"default middle", []retry.Option{retry.WithRand(func() float64 { return 0.5 })}, 100 * time.Millisecond},
		{"half", []retry.Option{retry.WithJitter(0.5), retry.WithRand(func() float64 { return 0 })}, 50 * time.Millisecond},
		{"off", []retry.Option{retry.WithJitter(0), retry.WithRand(func() float64 { return 0 })}, 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			var calls atomic.Int32
			opts := append([]retry.Option{retry.WithAttempts(2), retry.WithClock(clock)}, tc.opts...)
			_, _ = retry.Client(opts...)(failing(unavailable, &calls))(context.Background(), nil)
			if got := clock.slept(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("sleeps = %v; want [%v]", got, tc.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"503", unavailable, true},
		{"504", errors.GatewayTimeout("TIMEOUT", "slow"), true},
		{"429", errors.TooManyRequests("RATELIMIT", "slow down"), true},
		{"gRPC Unavailable", status.Error(codes.Unavailable, "connection refused"), true},
		{"deadline exceeded", context.DeadlineExceeded, true},
		{"500", errors.InternalServer("BOOM", "bug"), false},
		{"400", errors.BadRequest("BAD", "bad"), false},
		{"404", errors.NotFound("USER_NOT_FOUND", "no such user"), false},
		{"409 business error", errors.Conflict("STOCK_EMPTY", "sold out"), false},
		{"plain error", stderrors.New("oops"), false},
		{"canceled", context.Canceled, false},
		{"open breaker", circuitbreaker.ErrNotAllowed, false},
		{"already retried downstream", unavailable.WithMetadata(map[string]string{retry.MetadataNoRetry: "true"}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := retry.DefaultRetryable(tc.err); got != tc.want {
				t.Errorf("DefaultRetryable(%v) = %v; want %v", tc.err, got, tc.want)
			}
			var calls atomic.Int32
			_, _ = retry.Client(retry.WithAttempts(2), retry.WithDelay(0), retry.WithBudget(nil))(failing(tc.err, &calls))(context.Background(), nil)
			want := int32(1)
			if tc.want {
				want = 2
			}
			if calls.Load() != want {
				t.Errorf("calls = %d; want %d", calls.Load(), want)
			}
		})
	}
}

func TestWithRetryable(t *testing.T) {
	var calls atomic.Int32
	m := retry.Client(retry.WithAttempts(3), retry.WithDelay(0), retry.WithBudget(nil),
		retry.WithRetryable(func(err error) bool { return errors.Code(err) == 500 }))
	_, err := m(failing(errors.InternalServer("BOOM", "flaky"), &calls))(context.Background(), nil)
	if calls.Load() != 3 || errors.Code(err) != 500 {
		t.Errorf("500 with a custom rule: calls = %d, err = %v; want 3 and the 500", calls.Load(), err)
	}
	calls.Store(0)
	_, _ = m(failing(unavailable, &calls))(context.Background(), nil)
	if calls.Load() != 1 {
		t.Errorf("503 with a rule that excludes it: calls = %d; want 1", calls.Load())
	}
}

func TestSuccessAfterFailures(t *testing.T) {
	var calls atomic.Int32
	h := func(context.Context, any) (any, error) {
		if calls.Add(1) < 3 {
			return nil, unavailable
		}
		return "ok", nil
	}
	reply, err := retry.Client(retry.WithDelay(0), retry.WithBudget(nil))(h)(context.Background(), nil)
	if err != nil || reply != "ok" || calls.Load() != 3 {
		t.Errorf("reply, err = %v, %v after %d calls; want ok after 3", reply, err, calls.Load())
	}
}

func TestExhaustedIsMarkedNoRetry(t *testing.T) {
	var calls atomic.Int32
	_, err := retry.Client(retry.WithAttempts(2), retry.WithDelay(0), retry.WithBudget(nil))(failing(unavailable, &calls))(context.Background(), nil)
	if errors.FromError(err).Metadata[retry.MetadataNoRetry] != "true" || !errors.IsServiceUnavailable(err) {
		t.Fatalf("err = %#v; want the 503 with %s", errors.FromError(err), retry.MetadataNoRetry)
	}
	if unavailable.Metadata != nil {
		t.Error("marking the error changed the original")
	}
	// The caller's retry does not retry it.
	calls.Store(0)
	_, _ = retry.Client(retry.WithDelay(0), retry.WithBudget(nil))(failing(err, &calls))(context.Background(), nil)
	if calls.Load() != 1 {
		t.Errorf("a no_retry failure was sent %d times; want 1", calls.Load())
	}
}

func TestRetryAfter(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"ratelimit metadata", errors.TooManyRequests("RATELIMIT", "slow").WithMetadata(map[string]string{"retry_after": "300ms"}), 300 * time.Millisecond},
		{"shorter than the backoff", errors.TooManyRequests("RATELIMIT", "slow").WithMetadata(map[string]string{"retry_after": "10ms"}), 100 * time.Millisecond},
		{"malformed", errors.TooManyRequests("RATELIMIT", "slow").WithMetadata(map[string]string{"retry_after": "soon"}), 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			var calls atomic.Int32
			_, _ = retry.Client(retry.WithAttempts(2), retry.WithJitter(0), retry.WithBudget(nil), retry.WithClock(clock))(failing(tc.err, &calls))(context.Background(), nil)
			if got := clock.slept(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("sleeps = %v; want [%v]", got, tc.want)
			}
		})
	}
	t.Run("HTTP Retry-After header", func(t *testing.T) {
		clock := newFakeClock()
		tr := newFakeTransport(transport.KindHTTP)
		h := func(ctx context.Context, _ any) (any, error) {
			tr, _ := transport.FromClientContext(ctx)
			tr.ReplyHeader().Set("Retry-After", "2")
			return nil, errors.TooManyRequests("SLOW", "slow")
		}
		ctx := transport.NewClientContext(context.Background(), tr)
		_, _ = retry.Client(retry.WithAttempts(2), retry.WithJitter(0), retry.WithBudget(nil), retry.WithClock(clock))(h)(ctx, nil)
		if got := clock.slept(); len(got) != 1 || got[0] != 2*time.Second {
			t.Errorf("sleeps = %v; want [2s]", got)
		}
	})
}

func TestCallerDeadlineWins(t *testing.T) {
	t.Run("never sleeps past it", func(t *testing.T) {
		clock := newFakeClock()
		ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(250*time.Millisecond))
		defer cancel()
		var calls atomic.Int32
		_, err := retry.Client(retry.WithAttempts(5), retry.WithJitter(0), retry.WithBudget(nil), retry.WithClock(clock))(failing(unavailable, &calls))(ctx, nil)
		// 100ms fits; the next 200ms would end past the deadline.
		if got := clock.slept(); !slices.Equal(got, []time.Duration{100 * time.Millisecond}) || calls.Load() != 2 {
			t.Errorf("sleeps = %v, calls = %d; want [100ms] and 2", got, calls.Load())
		}
		if !errors.IsServiceUnavailable(err) {
			t.Errorf("err = %v; want the backend's 503", err)
		}
	})
	t.Run("never starts an attempt that cannot finish", func(t *testing.T) {
		clock := newFakeClock()
		ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(250*time.Millisecond))
		defer cancel()
		var calls atomic.Int32
		h := func(context.Context, any) (any, error) {
			calls.Add(1)
			clock.advance(80 * time.Millisecond) // each attempt takes 80ms
			return nil, unavailable
		}
		_, _ = retry.Client(retry.WithAttempts(5), retry.WithJitter(0), retry.WithBudget(nil), retry.WithClock(clock))(h)(ctx, nil)
		// After 80ms and a 100ms delay, 70ms are left for an 80ms attempt.
		if calls.Load() != 1 || len(clock.slept()) != 0 {
			t.Errorf("calls = %d, sleeps = %v; want 1 and none", calls.Load(), clock.slept())
		}
	})
	t.Run("per-try timeout", func(t *testing.T) {
		var calls atomic.Int32
		var left []time.Duration
		var mu sync.Mutex
		h := func(ctx context.Context, _ any) (any, error) {
			calls.Add(1)
			dl, _ := ctx.Deadline()
			mu.Lock()
			left = append(left, time.Until(dl))
			mu.Unlock()
			<-ctx.Done()
			return nil, ctx.Err()
		}
		_, err := retry.Client(retry.WithAttempts(2), retry.WithDelay(0), retry.WithBudget(nil), retry.WithPerTryTimeout(20*time.Millisecond))(h)(context.Background(), nil)
		if calls.Load() != 2 || !errors.IsGatewayTimeout(err) {
			t.Errorf("calls = %d, err = %v; want 2 and 504", calls.Load(), err)
		}
		for _, l := range left {
			if l > 20*time.Millisecond {
				t.Errorf("attempt deadline %v away; want at most the per-try 20ms", l)
			}
		}
	})
}

func TestBudget(t *testing.T) {
	b := budget.New(budget.WithRatio(0), budget.WithMinPerSecond(0.1)) // 1 retry in the 10s window
	m := retry.Client(retry.WithAttempts(3), retry.WithDelay(0), retry.WithBudget(b))
	var calls atomic.Int32
	for range 3 {
		_, _ = m(failing(unavailable, &calls))(context.Background(), nil)
	}
	if calls.Load() != 4 {
		t.Errorf("calls = %d; want 3 requests and the 1 retry the budget allows", calls.Load())
	}
	t.Run("default", func(t *testing.T) {
		m := retry.Client(retry.WithAttempts(3), retry.WithDelay(0))
		var calls atomic.Int32
		for range 100 {
			_, _ = m(failing(unavailable, &calls))(context.Background(), nil)
		}
		// 10% of 100 requests plus the floor of 1/s over 10s.
		if n := calls.Load(); n > 100+10+10 {
			t.Errorf("calls = %d; want at most 120 with the default budget", n)
		}
	})
}

// fakeTransport is a Transporter with real headers.
type fakeTransport struct {
	kind       transport.Kind
	req, reply http.Header
}

func newFakeTransport(k transport.Kind) *fakeTransport {
	return &fakeTransport{kind: k, req: http.Header{}, reply: http.Header{}}
}

func (t *fakeTransport) Kind() transport.Kind            { return t.kind }
func (t *fakeTransport) Endpoint() string                { return "fake" }
func (t *fakeTransport) Operation() string               { return "/fake" }
func (t *fakeTransport) RequestHeader() transport.Header { return header(t.req) }
func (t *fakeTransport) ReplyHeader() transport.Header   { return header(t.reply) }

type header http.Header

func (h header) Get(k string) string      { return http.Header(h).Get(k) }
func (h header) Set(k, v string)          { http.Header(h).Set(k, v) }
func (h header) Add(k, v string)          { http.Header(h).Add(k, v) }
func (h header) Values(k string) []string { return http.Header(h).Values(k) }
func (h header) Keys() []string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	return ks
}

func TestWireMarker(t *testing.T) {
	t.Run("retries are marked", func(t *testing.T) {
		tr := newFakeTransport(transport.KindHTTP)
		var seen []string
		h := func(ctx context.Context, _ any) (any, error) {
			ct, _ := transport.FromClientContext(ctx)
			seen = append(seen, ct.RequestHeader().Get(retry.HeaderAttempt))
			return nil, unavailable
		}
		ctx := transport.NewClientContext(context.Background(), tr)
		_, _ = retry.Client(retry.WithDelay(0), retry.WithBudget(nil))(h)(ctx, nil)
		if want := []string{"", "1", "2"}; !slices.Equal(seen, want) {
			t.Errorf("%s per attempt = %q; want %q", retry.HeaderAttempt, seen, want)
		}
	})
	for _, k := range []transport.Kind{transport.KindHTTP, transport.KindGRPC} {
		t.Run("a server handling a retry does not retry/"+string(k), func(t *testing.T) {
			in := newFakeTransport(k)
			in.req.Set(retry.HeaderAttempt, "1")
			ctx := transport.NewServerContext(context.Background(), in)
			var calls atomic.Int32
			_, err := retry.Client(retry.WithDelay(0), retry.WithBudget(nil))(failing(unavailable, &calls))(ctx, nil)
			if calls.Load() != 1 {
				t.Errorf("calls = %d; want 1", calls.Load())
			}
			if errors.FromError(err).Metadata[retry.MetadataNoRetry] != "true" {
				t.Errorf("err = %v; want it marked %s for the caller", err, retry.MetadataNoRetry)
			}
		})
	}
	t.Run("an unmarked server request retries", func(t *testing.T) {
		ctx := transport.NewServerContext(context.Background(), newFakeTransport(transport.KindGRPC))
		var calls atomic.Int32
		_, _ = retry.Client(retry.WithDelay(0), retry.WithBudget(nil))(failing(unavailable, &calls))(ctx, nil)
		if calls.Load() != 3 {
			t.Errorf("calls = %d; want 3", calls.Load())
		}
	})
}

func TestTriedSetReachesThePicker(t *testing.T) {
	var sets []*selector.Tried
	h := func(ctx context.Context, _ any) (any, error) {
		tried := selector.TriedFromContext(ctx)
		sets = append(sets, tried)
		if tried != nil {
			tried.Add("10.0.0." + string(rune('1'+len(sets))))
		}
		return nil, unavailable
	}
	_, _ = retry.Client(retry.WithDelay(0), retry.WithBudget(nil))(h)(context.Background(), nil)
	if len(sets) != 3 || sets[0] == nil || sets[0] != sets[2] || sets[0].Len() != 3 {
		t.Fatalf("attempts saw tried sets %v; want one set shared by the 3 attempts", sets)
	}
}

func TestCanceledCallerStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	h := func(context.Context, any) (any, error) {
		calls.Add(1)
		cancel()
		return nil, unavailable
	}
	_, _ = retry.Client(retry.WithBudget(nil))(h)(ctx, nil)
	if calls.Load() != 1 {
		t.Errorf("calls = %d; want 1 after the caller gave up", calls.Load())
	}
}

func TestAttemptsOne(t *testing.T) {
	var calls atomic.Int32
	_, _ = retry.Client(retry.WithAttempts(1))(failing(unavailable, &calls))(context.Background(), nil)
	if calls.Load() != 1 {
		t.Errorf("calls = %d; want 1", calls.Load())
	}
}

func BenchmarkFirstTrySuccess(b *testing.B) {
	h := retry.Client(retry.WithAttempts(3), retry.WithDelay(100*time.Millisecond))(
		func(context.Context, any) (any, error) { return nil, nil })
	ctx := transport.NewServerContext(context.Background(), newFakeTransport(transport.KindHTTP))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}
