// Package ratelimit is server middleware that rejects requests over a
// limit, so an overloaded service answers some requests well instead of
// all of them late.
//
//	http.Middleware(ratelimit.Server()) // adaptive (BBR) limiter
//	http.Middleware(ratelimit.Server(ratelimit.WithLimiter(ratelimit.NewMemoryLimiter(
//		ratelimit.WithInterval(time.Second), ratelimit.WithBurst(100)))))
//
// A rejected request fails with 429 and reason RATELIMIT (gRPC:
// ResourceExhausted with the reason in ErrorInfo), which Zelos clients see
// as errors.IsTooManyRequests. Over HTTP the reply carries Retry-After when
// the limiter knows when to come back, as the token bucket does.
//
// The algorithms live in resilience/bucket and resilience/bbr; this package
// adapts them to the middleware chain.
package ratelimit

import (
	"context"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/resilience/bbr"
	"github.com/zelos-go/zelos/transport"
)

// Reason is the reason of the error a rejected request fails with.
const Reason = "RATELIMIT"

// ErrLimitExceeded is the error of a rejected request that the limiter gave
// no Retry-After for.
var ErrLimitExceeded = errors.TooManyRequests(Reason, "rate limit exceeded")

// DoneFunc is called when an admitted request ends. Limiters that count
// only admissions return a no-op.
type DoneFunc func()

// Limiter admits or rejects a request. Allow returns a DoneFunc the
// middleware calls when the request ends, or a non-nil error to reject it:
// an *errors.Error is returned as is, any other error becomes
// ErrLimitExceeded. An error with a RetryAfter() time.Duration method sets
// the HTTP Retry-After header.
type Limiter interface {
	Allow(ctx context.Context) (DoneFunc, error)
}

// Option configures Server.
type Option func(*options)

type options struct {
	limiter Limiter
	mp      metric.MeterProvider
}

// WithMeterProvider sets where rejections are counted: the counter
// zelos.server.ratelimit.rejections, by operation (zelos.operation). The
// default is otel.GetMeterProvider() when the middleware is built.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// WithLimiter sets the limiter. The default is NewBBR().
func WithLimiter(l Limiter) Option {
	return func(o *options) { o.limiter = l }
}

// Server returns server middleware that admits requests through the
// limiter.
func Server(opts ...Option) middleware.Middleware {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.limiter == nil {
		o.limiter = NewBBR()
	}
	l := o.limiter
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	rejections, _ := o.mp.Meter("github.com/zelos-go/zelos/middleware/ratelimit").Int64Counter("zelos.server.ratelimit.rejections",
		metric.WithUnit("{request}"), metric.WithDescription("Requests the rate limiter rejected."))
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			done, err := l.Allow(ctx)
			if err != nil {
				// Operations are the server's routes and methods, a fixed
				// set, so the label stays bounded; the attribute is built
				// on the rejection path only.
				var op string
				if tr, ok := transport.FromServerContext(ctx); ok {
					op = tr.Operation()
				}
				rejections.Add(ctx, 1, metric.WithAttributes(attribute.String("zelos.operation", op)))
				return nil, reject(ctx, err)
			}
			defer done()
			return next(ctx, req)
		}
	}
}

// reject turns a limiter's error into the request's error and sets
// Retry-After on HTTP replies.
func reject(ctx context.Context, err error) error {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		if tr, ok := transport.FromServerContext(ctx); ok && tr.Kind() == transport.KindHTTP {
			// Retry-After is in whole seconds; round up so a client that
			// honours it does not come back early.
			secs := int64(math.Ceil(ra.RetryAfter().Seconds()))
			tr.ReplyHeader().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}
	}
	var se *errors.Error
	if errors.As(err, &se) {
		return se
	}
	return ErrLimitExceeded.WithCause(err)
}

// bbrLimiter adapts resilience/bbr.
type bbrLimiter struct {
	l *bbr.Limiter
}

// NewBBR returns the adaptive limiter: it sheds requests beyond the
// service's measured capacity while the CPU (read from the container's
// cgroup) is above the threshold. See resilience/bbr for the options.
func NewBBR(opts ...bbr.Option) Limiter {
	return bbrLimiter{l: bbr.New(opts...)}
}

func (b bbrLimiter) Allow(context.Context) (DoneFunc, error) {
	t, err := b.l.Allow()
	if err != nil {
		return nil, ErrLimitExceeded
	}
	// One small allocation per admitted request, for the closure: the
	// Limiter interface stays one method that users can implement.
	return func() { b.l.Done(t) }, nil
}
