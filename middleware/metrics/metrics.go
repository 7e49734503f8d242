// Package metrics is server and client middleware that records request
// durations and in-flight requests with the OpenTelemetry metric API, named
// by the semantic conventions (v1.43):
//
//	http.server.request.duration, http.server.active_requests,
//	http.client.request.duration,
//	rpc.server.call.duration, rpc.client.call.duration (seconds),
//	rpc.server.active_requests (Zelos's; the conventions define none).
//
//	http.Middleware(metrics.Server())   // the global MeterProvider
//	grpc.Middleware(metrics.Server(metrics.WithMeterProvider(mp)))
//
// Labels are the route template (http.route; never the raw path), the
// method, the status code and the Zelos error reason (zelos.error.reason).
// Cardinality stays bounded whatever the input: HTTP methods outside the
// standard set are "_OTHER", and once a middleware has seen
// DefaultMaxSeries label sets, new routes and reasons are recorded as
// "_OTHER".
//
// The core module depends on the OpenTelemetry API only: with no SDK
// installed the instruments are no-ops. contrib/metrics/prometheus provides
// a MeterProvider and a /metrics handler.
//
// Label sets are built once per distinct set and cached, so recording
// allocates nothing per request.
package metrics

import (
	"context"
	nethttp "net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/semconv"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// ScopeName is the instrumentation scope of the meters this package makes.
const ScopeName = "github.com/zelos-go/zelos/middleware/metrics"

// DefaultMaxSeries is the default bound on the label sets one middleware
// records.
const DefaultMaxSeries = 1000

// ReasonKey is the attribute of the Zelos error reason.
const ReasonKey = attribute.Key(semconv.ReasonKey)

// durationBuckets are the semantic conventions' advised boundaries, in
// seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Option configures Server and Client.
type Option func(*options)

type options struct {
	mp        metric.MeterProvider
	maxSeries int
}

// WithMeterProvider sets the MeterProvider. The default is
// otel.GetMeterProvider() when the middleware is built.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// WithMaxSeries bounds the label sets recorded; past it, routes and reasons
// are recorded as "_OTHER". The default is DefaultMaxSeries.
func WithMaxSeries(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxSeries = n
		}
	}
}

// instruments are one side's (server or client) histograms and counters.
type instruments struct {
	httpDuration metric.Float64Histogram
	rpcDuration  metric.Float64Histogram
	httpActive   metric.Int64UpDownCounter // nil on the client
	rpcActive    metric.Int64UpDownCounter // nil on the client
	series       *seriesCache
}

// Server returns server middleware recording each request.
func Server(opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	m := o.mp.Meter(ScopeName)
	in := &instruments{series: newSeriesCache(o.maxSeries)}
	in.httpDuration, _ = m.Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of HTTP server requests."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.rpcDuration, _ = m.Float64Histogram("rpc.server.call.duration",
		metric.WithUnit("s"), metric.WithDescription("Measures the duration of an incoming Remote Procedure Call (RPC)."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.httpActive, _ = m.Int64UpDownCounter("http.server.active_requests",
		metric.WithUnit("{request}"), metric.WithDescription("Number of active HTTP server requests."))
	in.rpcActive, _ = m.Int64UpDownCounter("rpc.server.active_requests",
		metric.WithUnit("{request}"), metric.WithDescription("Number of active RPC server calls."))
	return in.middleware(transport.FromServerContext)
}

// Client returns client middleware recording each call.
func Client(opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	m := o.mp.Meter(ScopeName)
	in := &instruments{series: newSeriesCache(o.maxSeries)}
	in.httpDuration, _ = m.Float64Histogram("http.client.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of HTTP client requests."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.rpcDuration, _ = m.Float64Histogram("rpc.client.call.duration",
		metric.WithUnit("s"), metric.WithDescription("Measures the duration of an outgoing Remote Procedure Call (RPC)."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	return in.middleware(transport.FromClientContext)
}

func newOptions(opts []Option) *options {
	o := &options{maxSeries: DefaultMaxSeries}
	for _, opt := range opts {
		opt(o)
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	return o
}

// The optional methods of the HTTP Transporters, so that this package need
// not import transport/http.
type (
	pathTemplater interface{ PathTemplate() string }
	requester     interface{ Request() *nethttp.Request }
	statusCoder   interface{ StatusCode() int }
)

func (in *instruments) middleware(from func(context.Context) (transport.Transporter, bool)) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := from(ctx)
			if !ok {
				return next(ctx, req)
			}
			start := time.Now()
			k := seriesKey{kind: tr.Kind()}
			if k.kind == transport.KindHTTP {
				if r, ok := tr.(requester); ok && r.Request() != nil {
					k.method = semconv.HTTPMethod(r.Request().Method)
				}
				if p, ok := tr.(pathTemplater); ok {
					k.route = p.PathTemplate()
				}
			} else {
				k.route = strings.TrimPrefix(tr.Operation(), "/")
			}
			var active *series
			if in.httpActive != nil {
				active = in.series.get(seriesKey{kind: k.kind, method: k.method, active: true})
				counter(in, k.kind).Add(ctx, 1, active.add...)
			}
			reply, err := next(ctx, req)
			if active != nil {
				counter(in, k.kind).Add(ctx, -1, active.add...)
			}
			k.code, k.reason = status(tr, err)
			s := in.series.get(k)
			h := in.rpcDuration
			if k.kind == transport.KindHTTP {
				h = in.httpDuration
			}
			h.Record(ctx, time.Since(start).Seconds(), s.record...)
			return reply, err
		}
	}
}

func counter(in *instruments, k transport.Kind) metric.Int64UpDownCounter {
	if k == transport.KindHTTP {
		return in.httpActive
	}
	return in.rpcActive
}

// status returns the reply's status code and the Zelos error reason. For
// HTTP a status the handler wrote itself wins over the error's code.
func status(tr transport.Transporter, err error) (int, string) {
	if err == nil {
		if sc, ok := tr.(statusCoder); ok && sc.StatusCode() != 0 {
			return sc.StatusCode(), ""
		}
		return 200, ""
	}
	e := errors.FromError(err)
	return e.Code, e.Reason
}

// seriesKey identifies one label set.
type seriesKey struct {
	kind   transport.Kind
	active bool // the in-flight counter's set: kind and method only
	method string
	route  string
	code   int
	reason string
}

// series is the prepared options of one label set.
type series struct {
	record []metric.RecordOption
	add    []metric.AddOption
}

// seriesCache maps label sets to their prepared options. Reads take a read
// lock and allocate nothing; a new set is built once.
type seriesCache struct {
	max int
	mu  sync.RWMutex
	m   map[seriesKey]*series
}

func newSeriesCache(max int) *seriesCache {
	return &seriesCache{max: max, m: make(map[seriesKey]*series)}
}

func (c *seriesCache) get(k seriesKey) *series {
	c.mu.RLock()
	s, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[k]; ok {
		return s
	}
	if len(c.m) >= c.max {
		// Full: fold the open-ended labels. The folded set is itself
		// cached, beyond the bound by at most one set per kind, method and
		// code.
		k.route, k.reason = "_OTHER", "_OTHER"
		if s, ok := c.m[k]; ok {
			return s
		}
	}
	set := attribute.NewSet(k.attrs()...)
	s = &series{record: []metric.RecordOption{metric.WithAttributeSet(set)}, add: []metric.AddOption{metric.WithAttributeSet(set)}}
	c.m[k] = s
	return s
}

func (k seriesKey) attrs() []attribute.KeyValue {
	if k.kind == transport.KindHTTP {
		a := []attribute.KeyValue{attribute.String("http.request.method", k.method)}
		if k.active {
			return a
		}
		a = append(a, attribute.Int("http.response.status_code", k.code))
		if k.route != "" {
			a = append(a, attribute.String("http.route", k.route))
		}
		if k.code >= 500 {
			a = append(a, attribute.String("error.type", strconv.Itoa(k.code)))
		}
		if k.reason != "" {
			a = append(a, ReasonKey.String(k.reason))
		}
		return a
	}
	a := []attribute.KeyValue{attribute.String("rpc.system.name", "grpc")}
	if k.active {
		return a
	}
	status := semconv.GRPCStatus(k.code)
	a = append(a, attribute.String("rpc.method", k.route), attribute.String("rpc.response.status_code", status))
	if status != "OK" {
		a = append(a, attribute.String("error.type", status))
	}
	if k.reason != "" {
		a = append(a, ReasonKey.String(k.reason))
	}
	return a
}
