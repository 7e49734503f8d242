// Package tracing is server and client middleware that traces requests
// with the OpenTelemetry API, over HTTP and gRPC, unary calls and streams.
//
//	http.Middleware(tracing.Server())
//	grpc.WithMiddleware(tracing.Client(tracing.WithTracerProvider(tp)))
//	logger = log.With(logger, "trace.id", tracing.TraceID(), "span.id", tracing.SpanID())
//
// On the gRPC server, grpc.Middleware runs around streams too, so a stream's
// server span lasts as long as the stream. On the gRPC client, pass Client to
// grpc.WithStreamMiddleware as well as grpc.WithMiddleware: the stream's
// client span covers opening it and carries the trace to the server.
//
// The server continues the caller's trace from the request headers (W3C
// TraceContext and Baggage by default) and the client sends its own. Span
// names are the operation (/pkg.Service/Method, or an HTTP route's
// template); attributes follow the OpenTelemetry semantic conventions
// (v1.43) for HTTP and RPC; the span status comes from the Zelos error code:
// on the server 5xx is an error and 4xx is not, on the client both are.
//
// Trace IDs in logs never depend on the order of middleware. The server
// middleware writes its span's traceparent into the request's header, and
// TraceID and SpanID fall back to it when the context they are given holds
// no span, as is the case for a logging middleware placed before tracing:
// its access line gets the same IDs as the lines logged inside.
//
// The core module depends on the OpenTelemetry API only: with no SDK the
// tracer is a no-op. Install an SDK TracerProvider with otel.SetTracerProvider
// or WithTracerProvider.
package tracing

import (
	"context"
	nethttp "net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/semconv"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// ScopeName is the instrumentation scope of the tracers this package makes.
const ScopeName = "github.com/zelos-go/zelos/middleware/tracing"

// traceparent is the W3C header the server writes back into the request's
// header for TraceID and SpanID.
const traceparent = "traceparent"

// Option configures Server and Client.
type Option func(*options)

type options struct {
	tp         trace.TracerProvider
	propagator propagation.TextMapPropagator
}

// WithTracerProvider sets the TracerProvider. The default is
// otel.GetTracerProvider(), read when each span starts, so a provider set
// after the middleware is built is used.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

// WithPropagator sets how trace context crosses the wire. The default is W3C
// TraceContext and Baggage.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *options) { o.propagator = p }
}

func newOptions(opts []Option) *options {
	o := &options{propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func (o *options) tracer() trace.Tracer {
	if o.tp != nil {
		return o.tp.Tracer(ScopeName)
	}
	return otel.GetTracerProvider().Tracer(ScopeName)
}

// The optional methods of the HTTP Transporters, so that this package need
// not import transport/http.
type (
	requester     interface{ Request() *nethttp.Request }
	pathTemplater interface{ PathTemplate() string }
	statusCoder   interface{ StatusCode() int }
)

var (
	serverStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	clientStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
)

// Server returns server middleware that starts a span per request.
func Server(opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	var fixed trace.Tracer
	if o.tp != nil {
		fixed = o.tp.Tracer(ScopeName)
	}
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromServerContext(ctx)
			if !ok {
				return next(ctx, req)
			}
			// transport.Header has Get, Set and Keys: it is a TextMapCarrier
			// as it is, with no adapter to allocate.
			ctx = o.propagator.Extract(ctx, tr.RequestHeader())
			t := fixed
			if t == nil {
				t = o.tracer()
			}
			ctx, span := t.Start(ctx, tr.Operation(), serverStart...)
			defer span.End()
			if span.IsRecording() {
				span.SetAttributes(requestAttrs(tr, true)...)
				tr.RequestHeader().Set(traceparent, format(span.SpanContext()))
			}
			reply, err := next(ctx, req)
			if span.IsRecording() {
				end(span, tr, err, true)
			}
			return reply, err
		}
	}
}

// Client returns client middleware that starts a span per call and sends
// its context to the server.
func Client(opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	var fixed trace.Tracer
	if o.tp != nil {
		fixed = o.tp.Tracer(ScopeName)
	}
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromClientContext(ctx)
			if !ok {
				return next(ctx, req)
			}
			t := fixed
			if t == nil {
				t = o.tracer()
			}
			ctx, span := t.Start(ctx, tr.Operation(), clientStart...)
			defer span.End()
			o.propagator.Inject(ctx, tr.RequestHeader())
			if span.IsRecording() {
				span.SetAttributes(requestAttrs(tr, false)...)
			}
			reply, err := next(ctx, req)
			if span.IsRecording() {
				end(span, tr, err, false)
			}
			return reply, err
		}
	}
}

// requestAttrs are the attributes known before the handler runs.
func requestAttrs(tr transport.Transporter, server bool) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 8)
	if tr.Kind() == transport.KindHTTP {
		if r, ok := tr.(requester); ok && r.Request() != nil {
			req := r.Request()
			a = append(a, attribute.String("http.request.method", semconv.HTTPMethod(req.Method)))
			if server {
				a = append(a, attribute.String("url.path", req.URL.Path))
				if req.UserAgent() != "" {
					a = append(a, attribute.String("user_agent.original", req.UserAgent()))
				}
				if req.RemoteAddr != "" {
					a = append(a, attribute.String("client.address", hostOf(req.RemoteAddr)))
				}
				scheme := "http"
				if req.TLS != nil {
					scheme = "https"
				}
				a = append(a, attribute.String("url.scheme", scheme))
			} else {
				a = append(a, attribute.String("url.full", req.URL.String()))
			}
		}
		if p, ok := tr.(pathTemplater); ok && p.PathTemplate() != "" {
			a = append(a, attribute.String("http.route", p.PathTemplate()))
		}
	} else {
		a = append(a, attribute.String("rpc.system.name", "grpc"), attribute.String("rpc.method", strings.TrimPrefix(tr.Operation(), "/")))
	}
	if host, port := endpoint(tr.Endpoint()); host != "" {
		a = append(a, attribute.String("server.address", host))
		if port > 0 {
			a = append(a, attribute.Int("server.port", port))
		}
	}
	return a
}

// end records the outcome: status code attributes, error.type, and the
// span status from the Zelos error code.
func end(span trace.Span, tr transport.Transporter, err error, server bool) {
	code, reason := 200, ""
	if err != nil {
		e := errors.FromError(err)
		code, reason = e.Code, e.Reason
	} else if sc, ok := tr.(statusCoder); ok && sc.StatusCode() != 0 {
		code = sc.StatusCode()
	}
	if tr.Kind() == transport.KindHTTP {
		span.SetAttributes(attribute.Int("http.response.status_code", code))
	} else {
		span.SetAttributes(attribute.String("rpc.response.status_code", semconv.GRPCStatus(code)))
	}
	failed := code >= 500 || (!server && code >= 400)
	if failed {
		span.SetAttributes(attribute.String("error.type", errorType(tr, code, reason)))
		span.SetStatus(codes.Error, reason)
		if err != nil {
			span.RecordError(err)
		}
	}
	if reason != "" {
		span.SetAttributes(attribute.String(semconv.ReasonKey, reason))
	}
}

func errorType(tr transport.Transporter, code int, reason string) string {
	if tr.Kind() == transport.KindGRPC {
		return semconv.GRPCStatus(code)
	}
	if reason != "" && reason != errors.UnknownReason {
		return reason
	}
	return strconv.Itoa(code)
}

// endpoint splits a Transporter's endpoint URL, grpc://10.0.0.1:9000.
func endpoint(ep string) (string, int) {
	if i := strings.Index(ep, "://"); i >= 0 {
		ep = ep[i+3:]
	}
	if i := strings.IndexByte(ep, '/'); i >= 0 {
		ep = ep[:i]
	}
	host, port := ep, 0
	if i := strings.LastIndexByte(ep, ':'); i >= 0 && !strings.HasSuffix(ep, "]") {
		host = ep[:i]
		port, _ = strconv.Atoi(ep[i+1:])
	}
	return strings.Trim(host, "[]"), port
}

func hostOf(addr string) string {
	h, _ := endpoint(addr)
	return h
}

// format renders a span context as a W3C traceparent value.
func format(sc trace.SpanContext) string {
	flags := "00"
	if sc.IsSampled() {
		flags = "01"
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + flags
}

// spanContext returns the span context of ctx, or the one the server
// middleware wrote into the request's header.
func spanContext(ctx context.Context) trace.SpanContext {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc
	}
	tr, ok := transport.FromServerContext(ctx)
	if !ok {
		return trace.SpanContext{}
	}
	h := tr.RequestHeader()
	if h == nil {
		return trace.SpanContext{}
	}
	v := h.Get(traceparent)
	if v == "" {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{traceparent: v}))
}

// TraceID returns a log Valuer of the trace ID of the request in the
// record's context, or "" outside a trace.
func TraceID() log.Valuer {
	return func(ctx context.Context) any {
		if sc := spanContext(ctx); sc.HasTraceID() {
			return sc.TraceID().String()
		}
		return ""
	}
}

// SpanID returns a log Valuer of the current span's ID, or "".
func SpanID() log.Valuer {
	return func(ctx context.Context) any {
		if sc := spanContext(ctx); sc.HasSpanID() {
			return sc.SpanID().String()
		}
		return ""
	}
}
