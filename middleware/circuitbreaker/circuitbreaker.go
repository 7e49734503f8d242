// Package circuitbreaker is client middleware that stops calling a backend
// that is failing, so callers fail fast and the backend gets room to
// recover.
//
//	grpc.WithMiddleware(circuitbreaker.Client()) // adaptive (SRE) breaker
//	grpc.WithMiddleware(circuitbreaker.Client(
//		circuitbreaker.WithCommandName("user.service"),
//		circuitbreaker.WithTimeout(5*time.Second),   // open this long, then half-open
//		circuitbreaker.WithMaxRequests(10),          // probes while half-open
//		circuitbreaker.WithInterval(60*time.Second), // counting window
//		circuitbreaker.WithFailureRatio(0.6)))       // opens at this failure ratio
//
// With none of the ratio options (WithFailureRatio, WithTimeout,
// WithMaxRequests) the breaker is Google SRE's adaptive throttle, which
// needs no thresholds; with any of them it is a failure-ratio breaker with
// closed, open and half-open states. Breakers are kept per operation, or
// one per command name when WithCommandName is given.
//
// Only backend failures count (see IsBackendFailure): 500, 502, 503 and
// 504 replies, deadlines exceeded and connection errors. 4xx and business
// errors never count, nor do the breaker's own rejections. An open breaker
// fails the call with ErrNotAllowed (503, reason CIRCUITBREAKER) without
// sending it, unless WithFallback gives a reply.
//
// The algorithms live in resilience/breaker; this package adapts them.
package circuitbreaker

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/failure"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/resilience/breaker"
	"github.com/zelos-go/zelos/transport"
)

// Reason is the reason of ErrNotAllowed.
const Reason = "CIRCUITBREAKER"

// ErrNotAllowed is the error of a call an open breaker rejected.
var ErrNotAllowed = errors.ServiceUnavailable(Reason, "circuit breaker is open")

// FallbackFunc returns the reply (or error) of a call an open breaker
// rejected; err is ErrNotAllowed.
type FallbackFunc func(ctx context.Context, req any, err error) (any, error)

// Option configures Client.
type Option func(*options)

type options struct {
	name          string
	ratio         float64
	useRatio      bool
	timeout       time.Duration
	maxRequests   int
	interval      time.Duration
	minRequests   int
	fallback      FallbackFunc
	isFailure     func(error) bool
	onStateChange func(name string, from, to breaker.State)
	newBreaker    func(name string) breaker.Breaker
	clock         breaker.Clock
	mp            metric.MeterProvider
	state         metric.Int64Gauge
}

// WithMeterProvider sets where the built-in breakers report their state:
// the gauge zelos.client.circuitbreaker.state (0 closed, 1 open, 2
// half-open) by breaker name (zelos.circuitbreaker.name). The default is
// otel.GetMeterProvider() when the middleware is built.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// WithCommandName makes every call through this middleware share one
// breaker of that name. The default is one breaker per operation.
func WithCommandName(name string) Option {
	return func(o *options) { o.name = name }
}

// WithTimeout sets how long an open ratio breaker stays open before it goes
// half-open. The default is 5s. It selects the ratio breaker.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout, o.useRatio = d, true }
}

// WithMaxRequests sets how many probes a half-open ratio breaker lets
// through; that many successes close it. The default is 1. It selects the
// ratio breaker.
func WithMaxRequests(n int) Option {
	return func(o *options) { o.maxRequests, o.useRatio = n, true }
}

// WithInterval sets the rolling window outcomes are counted over. The
// default is 10s.
func WithInterval(d time.Duration) Option {
	return func(o *options) { o.interval = d }
}

// WithFailureRatio sets the failure ratio, in (0, 1], at which the ratio
// breaker opens. The default is 0.5. It selects the ratio breaker.
func WithFailureRatio(r float64) Option {
	return func(o *options) { o.ratio, o.useRatio = r, true }
}

// WithMinRequests sets how many calls the window must hold before the
// breaker may open. The default is 20.
func WithMinRequests(n int) Option {
	return func(o *options) { o.minRequests = n }
}

// WithFallback sets the reply of calls an open breaker rejects. The
// default fails them with ErrNotAllowed.
func WithFallback(f FallbackFunc) Option {
	return func(o *options) { o.fallback = f }
}

// WithFailure sets what counts as a backend failure. The default is
// IsBackendFailure.
func WithFailure(f func(error) bool) Option {
	return func(o *options) { o.isFailure = f }
}

// WithStateChange sets a function called when a breaker changes state, with
// the breaker's name (the command name or the operation), for metrics and
// logs. It must not block.
func WithStateChange(f func(name string, from, to breaker.State)) Option {
	return func(o *options) { o.onStateChange = f }
}

// WithBreaker sets the function that makes the breaker of each name,
// replacing the built-in ones and the options that configure them.
func WithBreaker(f func(name string) breaker.Breaker) Option {
	return func(o *options) { o.newBreaker = f }
}

// WithClock sets the built-in breakers' clock, for tests. The default is
// the monotonic clock.
func WithClock(now func() int64) Option {
	return func(o *options) { o.clock = now }
}

// IsBackendFailure reports whether err means the backend failed: a 500,
// 502, 503 or 504 error (which covers gRPC Internal, Unknown, Unavailable
// and DeadlineExceeded), or an error of no known kind, such as a refused
// connection. A caller's cancellation (499), 4xx and business errors are
// not backend failures.
//
// The selector's outlier ejection counts the same failures.
func IsBackendFailure(err error) bool { return failure.IsBackend(err) }

// Client returns client middleware that guards calls with breakers.
func Client(opts ...Option) middleware.Middleware {
	o := options{ratio: 0.5, isFailure: IsBackendFailure}
	for _, opt := range opts {
		opt(&o)
	}
	if o.newBreaker == nil {
		o.newBreaker = o.builtin
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	o.state, _ = o.mp.Meter("github.com/zelos-go/zelos/middleware/circuitbreaker").Int64Gauge("zelos.client.circuitbreaker.state",
		metric.WithUnit("{state}"), metric.WithDescription("State of each circuit breaker: 0 closed, 1 open, 2 half-open."))
	g := &group{o: &o}
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			b := g.get(ctx)
			t, err := b.Allow()
			if err != nil {
				if o.fallback != nil {
					return o.fallback(ctx, req, ErrNotAllowed)
				}
				return nil, ErrNotAllowed
			}
			reply, err := next(ctx, req)
			if err != nil && o.isFailure(err) {
				b.Failure(t)
			} else {
				b.Success(t)
			}
			return reply, err
		}
	}
}

// builtin makes the breaker the options describe.
func (o *options) builtin(name string) breaker.Breaker {
	var bo []breaker.Option
	if o.interval > 0 {
		bo = append(bo, breaker.WithWindow(o.interval))
	}
	if o.minRequests > 0 {
		bo = append(bo, breaker.WithMinRequests(o.minRequests))
	}
	if o.clock != nil {
		bo = append(bo, breaker.WithClock(o.clock))
	}
	attrs := metric.WithAttributes(attribute.String("zelos.circuitbreaker.name", name))
	o.state.Record(context.Background(), int64(breaker.Closed), attrs)
	f := o.onStateChange
	bo = append(bo, breaker.WithStateChange(func(from, to breaker.State) {
		o.state.Record(context.Background(), int64(to), attrs)
		if f != nil {
			f(name, from, to)
		}
	}))
	if !o.useRatio {
		return breaker.NewSRE(bo...)
	}
	if o.timeout > 0 {
		bo = append(bo, breaker.WithTimeout(o.timeout))
	}
	if o.maxRequests > 0 {
		bo = append(bo, breaker.WithMaxRequests(o.maxRequests))
	}
	return breaker.NewRatio(o.ratio, bo...)
}

// group holds the breakers by name. Names are operations, a set fixed by
// the client's code, so the map stays small.
type group struct {
	o        *options
	breakers sync.Map // name -> breaker.Breaker
	one      breaker.Breaker
	oneOnce  sync.Once
}

func (g *group) get(ctx context.Context) breaker.Breaker {
	if g.o.name != "" {
		g.oneOnce.Do(func() { g.one = g.o.newBreaker(g.o.name) })
		return g.one
	}
	var op string
	if tr, ok := transport.FromClientContext(ctx); ok {
		op = tr.Operation()
	}
	if b, ok := g.breakers.Load(op); ok {
		return b.(breaker.Breaker)
	}
	b, _ := g.breakers.LoadOrStore(op, g.o.newBreaker(op))
	return b.(breaker.Breaker)
}
