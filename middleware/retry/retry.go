// Package retry is client middleware that sends a failed call again, for
// the gRPC and HTTP clients:
//
//	grpc.WithMiddleware(retry.Client(retry.WithAttempts(3),
//		retry.WithDelay(100*time.Millisecond),
//		retry.WithBackoff(retry.BackoffExponential)))
//
// That call is sent at most three times: the first retry comes after about
// 100ms and the second after about 200ms (±20% jitter; WithJitter(0) turns
// it off).
//
// What is retried (DefaultRetryable, or WithRetryable): 503 and 504
// replies, 429 (after its Retry-After), and connection failures, which
// both clients report as 503 (gRPC Unavailable). Never 4xx or business
// errors, nor the 503 of an open circuit breaker.
//
// The caller's deadline always wins: the middleware never sleeps past it,
// and does not start an attempt that cannot finish before it: one that
// would have less time left than the previous attempt took (or than the
// per-try timeout, if that is shorter).
//
// Retries cannot multiply an outage across hops:
//   - A retry budget (resilience/budget, one per Client) lets retries be at
//     most 10% of the requests plus 1 per second.
//   - A retry carries the request header HeaderAttempt ("x-zelos-retry-attempt",
//     the retry's number, from 1). A server handling such a request does not
//     retry its own downstream calls for it.
//   - A call that failed in a retryable way and was not retried further
//     (attempts spent, budget empty, or a marked request) is returned with
//     the error metadata MetadataNoRetry ("no_retry": "true"), which crosses
//     both transports: the caller's retry middleware does not retry it,
//     since the hop that failed already did.
//
// Each retry asks the selector for an instance not tried yet for this call
// (selector.Tried), where another exists.
//
// The backoff is internal/backoff's, the one implementation every
// reconnect loop of Zelos uses too.
package retry

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/circuitbreaker"
	"github.com/zelos-go/zelos/resilience/budget"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/transport"
)

// HeaderAttempt is the request header that marks a retry, with its number
// (1 for the first retry). A server that receives it does not retry the
// calls it makes for that request.
const HeaderAttempt = "x-zelos-retry-attempt"

// headerAttemptHTTP is HeaderAttempt in net/http's canonical form, so that
// reading it from an http.Header does not allocate.
const headerAttemptHTTP = "X-Zelos-Retry-Attempt"

// MetadataNoRetry is the error metadata key (value "true") of a failure
// that was already retried as far as allowed: callers do not retry it.
const MetadataNoRetry = "no_retry"

// Backoff is how the delay between attempts grows.
type Backoff uint8

const (
	// BackoffExponential doubles the delay after each retry: Delay,
	// 2*Delay, 4*Delay, ... It is the default.
	BackoffExponential Backoff = iota
	// BackoffLinear adds Delay after each retry: Delay, 2*Delay, ...
	BackoffLinear
	// BackoffConstant waits Delay before every retry.
	BackoffConstant
)

func (b Backoff) kind() backoff.Kind {
	switch b {
	case BackoffLinear:
		return backoff.Linear
	case BackoffConstant:
		return backoff.Constant
	}
	return backoff.Exponential
}

// Option configures Client.
type Option func(*options)

type options struct {
	attempts  int
	policy    backoff.Policy
	perTry    time.Duration
	retryable func(error) bool
	hedge     time.Duration
	budget    *budget.Budget
	noBudget  bool
	clock     backoff.Clock
	mp        metric.MeterProvider
}

// WithMeterProvider sets where the retries are counted: the counter
// zelos.client.retries, by the code of the error retried
// (zelos.error.code). The default is otel.GetMeterProvider() when the
// middleware is built.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// WithAttempts sets how many times a call may be sent in all, the first
// included. The default is 3; 1 or less means no retry.
func WithAttempts(n int) Option { return func(o *options) { o.attempts = n } }

// WithDelay sets the delay before the first retry. The default is 100ms.
func WithDelay(d time.Duration) Option { return func(o *options) { o.policy.Base = max(d, 0) } }

// WithMaxDelay bounds every delay, jitter included. Zero, the default,
// means no bound but the caller's deadline.
func WithMaxDelay(d time.Duration) Option { return func(o *options) { o.policy.Max = max(d, 0) } }

// WithBackoff sets how the delay grows. The default is BackoffExponential.
func WithBackoff(b Backoff) Option { return func(o *options) { o.policy.Kind = b.kind() } }

// WithJitter spreads each delay uniformly over ±f of itself, so that
// clients that failed together do not retry in step. The default is 0.2;
// 0 turns jitter off. Values are clamped to [0, 1].
func WithJitter(f float64) Option { return func(o *options) { o.policy.Jitter = min(max(f, 0), 1) } }

// WithPerTryTimeout bounds each attempt to d, within the caller's deadline.
// An attempt that runs out of it fails with 504 and is retried. Zero, the
// default, means each attempt may use all the caller's time.
func WithPerTryTimeout(d time.Duration) Option { return func(o *options) { o.perTry = d } }

// WithRetryable sets which errors are retried, instead of DefaultRetryable.
// It is asked about every failed attempt; the caller's deadline and the
// budget still apply.
func WithRetryable(f func(error) bool) Option { return func(o *options) { o.retryable = f } }

// WithHedge sends a backup attempt when the current one has not answered
// after d, without canceling it: the first reply wins and the others are
// canceled. Hedges are retries: they count against the attempts and the
// budget. Zero, the default, means no hedging.
//
// A hedged call runs attempts at the same time, so they must share no
// state; the client Transporter in the context is the one call's (the
// outgoing header, the reply's header and body). Each attempt gets a
// Transporter of its own from the client's (Forker), which both Zelos
// clients implement; over a client Transporter that does not fork,
// WithHedge is ignored and attempts stay sequential.
func WithHedge(d time.Duration) Option { return func(o *options) { o.hedge = max(d, 0) } }

// WithBudget sets the retry budget, which may be shared between Clients;
// nil turns the budget off (every retryable failure is retried up to the
// attempts). The default is one budget.New() per Client: 10% of the
// requests plus 1 per second.
func WithBudget(b *budget.Budget) Option {
	return func(o *options) { o.budget, o.noBudget = b, b == nil }
}

// Client returns client middleware that retries failed calls.
func Client(opts ...Option) middleware.Middleware {
	o := options{
		attempts: 3,
		policy:   backoff.Policy{Kind: backoff.Exponential, Base: 100 * time.Millisecond, Jitter: 0.2},
		clock:    backoff.SystemClock{},
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.retryable == nil {
		o.retryable = DefaultRetryable
	}
	if o.budget == nil && !o.noBudget {
		o.budget = budget.New()
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	counter, _ := o.mp.Meter(scope).Int64Counter("zelos.client.retries",
		metric.WithUnit("{retry}"), metric.WithDescription("Retries sent by the retry middleware."))
	return func(next middleware.Handler) middleware.Handler {
		if o.attempts <= 1 {
			return next
		}
		r := &retrier{options: o, next: next, retries: counter}
		return r.handle
	}
}

// scope is the instrumentation scope of the retry counter.
const scope = "github.com/zelos-go/zelos/middleware/retry"

// retriedCodes are the label sets of the retry counter, built once: the
// codes retried by default, and "other" for what WithRetryable adds.
var retriedCodes = map[int][]metric.AddOption{
	429: {metric.WithAttributes(attribute.Int("zelos.error.code", 429))},
	503: {metric.WithAttributes(attribute.Int("zelos.error.code", 503))},
	504: {metric.WithAttributes(attribute.Int("zelos.error.code", 504))},
	0:   {metric.WithAttributes(attribute.String("zelos.error.code", "other"))},
}

// countRetry adds one retry of err to the counter.
func (r *retrier) countRetry(ctx context.Context, err error) {
	opts, ok := retriedCodes[errors.Code(err)]
	if !ok {
		opts = retriedCodes[0]
	}
	r.retries.Add(ctx, 1, opts...)
}

// DefaultRetryable reports whether err is retried by default: a 503 (but
// not an open circuit breaker's), 504 or 429 that does not carry
// MetadataNoRetry. Connection failures are 503 on both clients.
func DefaultRetryable(err error) bool {
	e := errors.FromError(err)
	switch e.Code {
	case 503:
		if e.Reason == circuitbreaker.Reason {
			// The breaker is per operation, not per instance: a retry
			// would be rejected the same way.
			return false
		}
	case 504, 429:
	default:
		return false
	}
	return e.Metadata[MetadataNoRetry] != "true"
}

type retrier struct {
	options
	next    middleware.Handler
	retries metric.Int64Counter
}

// call is the state of one logical call, and the context its attempts run
// in: the caller's, plus the set of instances tried, which the selector
// reads (selector.TriedContextKey). One allocation carries both, which is
// the whole cost of the middleware on a call that succeeds first time.
type call struct {
	context.Context
	tried selector.Tried
}

var triedKey = selector.TriedContextKey()

// Value implements context.Context.
func (c *call) Value(key any) any {
	if key == triedKey {
		return &c.tried
	}
	return c.Context.Value(key)
}

func (r *retrier) handle(ctx context.Context, req any) (any, error) {
	if r.budget != nil {
		r.budget.Request()
	}
	if isRetry(ctx) {
		// The caller retries this request already: a retry here too
		// would multiply the load by the attempts at every hop.
		reply, err := r.next(ctx, req)
		if err != nil && r.retryable(err) {
			err = noRetry(err)
		}
		return reply, err
	}
	c := &call{Context: ctx}
	if r.hedge > 0 && canHedge(ctx) {
		return r.hedged(c, req)
	}
	b := r.policy.Start()
	for attempt := 0; ; attempt++ {
		start := r.clock.Now()
		reply, err := r.try(c, req, attempt)
		if err == nil {
			return reply, nil
		}
		if !r.retryable(err) || ctx.Err() != nil {
			return reply, err
		}
		if attempt+1 >= r.attempts {
			return reply, noRetry(err)
		}
		wait := max(b.Next(), retryAfter(ctx, err))
		if !r.fits(ctx, wait, r.clock.Now().Sub(start)) || (r.budget != nil && !r.budget.Retry()) {
			return reply, noRetry(err)
		}
		r.countRetry(ctx, err)
		if backoff.Sleep(ctx, r.clock, wait) != nil {
			return reply, err
		}
	}
}

// try runs attempt number attempt (0 for the first), marked on the wire
// when it is a retry and bounded by the per-try timeout.
func (r *retrier) try(c context.Context, req any, attempt int) (any, error) {
	if attempt > 0 {
		if tr, ok := transport.FromClientContext(c); ok {
			tr.RequestHeader().Set(HeaderAttempt, strconv.Itoa(attempt))
		}
	}
	if r.perTry <= 0 {
		return r.next(c, req)
	}
	ctx, cancel := context.WithTimeout(c, r.perTry)
	defer cancel()
	return r.next(ctx, req)
}

// fits reports whether an attempt after wait can still finish before ctx's
// deadline: it needs as long as the last attempt took (capped by the
// per-try timeout), and at least some time.
func (r *retrier) fits(ctx context.Context, wait, last time.Duration) bool {
	dl, ok := ctx.Deadline()
	if !ok {
		return true
	}
	need := last
	if r.perTry > 0 {
		need = min(need, r.perTry)
	}
	left := dl.Sub(r.clock.Now()) - wait
	return left > 0 && left >= need
}

// isRetry reports whether the request the server is handling in ctx is a
// retry of its caller's.
func isRetry(ctx context.Context) bool {
	tr, ok := transport.FromServerContext(ctx)
	if !ok {
		return false
	}
	key := HeaderAttempt
	if tr.Kind() == transport.KindHTTP {
		key = headerAttemptHTTP
	}
	return tr.RequestHeader().Get(key) != ""
}

// noRetry marks err as already retried, for the callers' retry middleware.
func noRetry(err error) error {
	e := errors.FromError(err)
	if e.Metadata[MetadataNoRetry] == "true" {
		return err
	}
	c := e.Clone()
	if err != error(e) {
		c = e.WithCause(err) // keep what wrapped the *errors.Error
	}
	if c.Metadata == nil {
		c.Metadata = make(map[string]string, 1)
	}
	c.Metadata[MetadataNoRetry] = "true"
	return c
}

// retryAfter returns how long a 429 or 503 asks the client to wait: the
// error's retry_after metadata (a duration, as middleware/ratelimit sends),
// or an HTTP Retry-After header in seconds. Zero means no such hint.
func retryAfter(ctx context.Context, err error) time.Duration {
	e := errors.FromError(err)
	if e.Code != 429 && e.Code != 503 {
		return 0
	}
	if v, ok := e.Metadata["retry_after"]; ok {
		if d, perr := time.ParseDuration(v); perr == nil && d > 0 {
			return d
		}
	}
	if tr, ok := transport.FromClientContext(ctx); ok && tr.Kind() == transport.KindHTTP {
		if s, perr := strconv.Atoi(tr.ReplyHeader().Get("Retry-After")); perr == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return 0
}
