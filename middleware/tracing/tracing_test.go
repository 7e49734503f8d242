package tracing_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/http"
)

// provider is an OpenTelemetry TracerProvider that records spans. It
// implements the OpenTelemetry API's interfaces, embedding the no-op ones
// for what the middleware does not call. The end-to-end proof with the real
// SDK and OTLP exporter is in contrib/otel/otlp.
type provider struct {
	noop.TracerProvider
	mu    sync.Mutex
	spans []*span
	next  byte
}

func (p *provider) Tracer(string, ...trace.TracerOption) trace.Tracer { return &tracer{p: p} }

type tracer struct {
	noop.Tracer
	p *provider
}

func (t *tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	parent := trace.SpanContextFromContext(ctx)
	t.p.mu.Lock()
	t.p.next++
	n := t.p.next
	t.p.mu.Unlock()
	tid := parent.TraceID()
	if !tid.IsValid() {
		tid = trace.TraceID{1, n}
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{2, n}, TraceFlags: trace.FlagsSampled})
	s := &span{name: name, kind: cfg.SpanKind(), sc: sc, parent: parent, attrs: map[attribute.Key]string{}}
	t.p.mu.Lock()
	t.p.spans = append(t.p.spans, s)
	t.p.mu.Unlock()
	return trace.ContextWithSpan(ctx, s), s
}

type span struct {
	noop.Span
	name       string
	kind       trace.SpanKind
	sc, parent trace.SpanContext
	attrs      map[attribute.Key]string
	status     codes.Code
	errs       int
	ended      bool
}

func (s *span) IsRecording() bool                { return true }
func (s *span) SpanContext() trace.SpanContext   { return s.sc }
func (s *span) End(...trace.SpanEndOption)       { s.ended = true }
func (s *span) SetStatus(c codes.Code, _ string) { s.status = c }
func (s *span) RecordError(error, ...trace.EventOption) {
	s.errs++
}
func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	for _, a := range kv {
		s.attrs[a.Key] = a.Value.Emit()
	}
}

func TestHTTPServerSpan(t *testing.T) {
	p := &provider{}
	srv := http.NewServer(http.Logger(log.NewStdLogger(io.Discard)), http.Middleware(tracing.Server(tracing.WithTracerProvider(p))))
	var inside string
	srv.Route("/").GET("/v1/users/{id}", func(ctx http.Context) error {
		inside = tracing.TraceID()(ctx).(string)
		if ctx.Vars().Get("id") == "boom" {
			return errors.InternalServer("DB_DOWN", "db down")
		}
		return ctx.String(201, "created")
	})
	parent := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for _, tc := range []struct {
		path, code, reason string
		status             codes.Code
	}{
		{"/v1/users/42", "201", "", codes.Unset},
		{"/v1/users/boom", "500", "DB_DOWN", codes.Error},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header.Set("traceparent", parent)
			req.Header.Set("User-Agent", "zelos-test")
			srv.ServeHTTP(httptest.NewRecorder(), req)
			s := p.spans[len(p.spans)-1]
			if s.name != "/v1/users/{id}" || s.kind != trace.SpanKindServer || !s.ended {
				t.Fatalf("span %q kind %v ended %v", s.name, s.kind, s.ended)
			}
			if s.parent.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || s.sc.TraceID() != s.parent.TraceID() {
				t.Fatalf("the caller's trace was not continued: parent %v", s.parent)
			}
			if inside != s.sc.TraceID().String() {
				t.Fatalf("TraceID inside the handler = %q, want %s", inside, s.sc.TraceID())
			}
			for k, v := range map[attribute.Key]string{
				"http.request.method": "GET", "http.route": "/v1/users/{id}", "http.response.status_code": tc.code,
				"url.path": tc.path, "url.scheme": "http", "user_agent.original": "zelos-test",
			} {
				if s.attrs[k] != v {
					t.Errorf("%s = %q, want %q", k, s.attrs[k], v)
				}
			}
			if s.status != tc.status || s.attrs["zelos.error.reason"] != tc.reason {
				t.Errorf("status %v reason %q, want %v %q", s.status, s.attrs["zelos.error.reason"], tc.status, tc.reason)
			}
		})
	}
}

// rpc is a Transporter of the gRPC kind with a real header.
type rpc struct {
	op string
	h  header
}

type header map[string]string

func (h header) Get(k string) string      { return h[strings.ToLower(k)] }
func (h header) Set(k, v string)          { h[strings.ToLower(k)] = v }
func (h header) Add(k, v string)          { h[strings.ToLower(k)] = v }
func (h header) Values(k string) []string { return []string{h[strings.ToLower(k)]} }
func (h header) Keys() []string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	return ks
}

func (r rpc) Kind() transport.Kind            { return transport.KindGRPC }
func (r rpc) Endpoint() string                { return "grpc://10.0.0.7:9000" }
func (r rpc) Operation() string               { return r.op }
func (r rpc) RequestHeader() transport.Header { return r.h }
func (r rpc) ReplyHeader() transport.Header   { return header{} }

func TestClientInjectsAndServerExtracts(t *testing.T) {
	p := &provider{}
	out := header{}
	client := tracing.Client(tracing.WithTracerProvider(p), tracing.WithPropagator(propagation.TraceContext{}))(func(context.Context, any) (any, error) {
		return nil, errors.NotFound("USER_NOT_FOUND", "no user")
	})
	_, _ = client(transport.NewClientContext(context.Background(), rpc{op: "/user.v1.User/Get", h: out}), nil)
	cs := p.spans[0]
	if cs.kind != trace.SpanKindClient || cs.attrs["rpc.method"] != "user.v1.User/Get" || cs.attrs["server.address"] != "10.0.0.7" || cs.attrs["server.port"] != "9000" {
		t.Fatalf("client span %v %v", cs.kind, cs.attrs)
	}
	if cs.status != codes.Error || cs.attrs["error.type"] != "NOT_FOUND" || cs.attrs["rpc.response.status_code"] != "NOT_FOUND" {
		t.Fatalf("a 404 is an error on the client: %v %v", cs.status, cs.attrs)
	}
	if !strings.Contains(out["traceparent"], cs.sc.SpanID().String()) {
		t.Fatalf("traceparent sent = %q, want the client span %s", out["traceparent"], cs.sc.SpanID())
	}

	// The server continues it; a 404 is not a server error.
	in := header{"traceparent": out["traceparent"]}
	server := tracing.Server(tracing.WithTracerProvider(p))(func(context.Context, any) (any, error) {
		return nil, errors.NotFound("USER_NOT_FOUND", "no user")
	})
	_, _ = server(transport.NewServerContext(context.Background(), rpc{op: "/user.v1.User/Get", h: in}), nil)
	ss := p.spans[1]
	if ss.parent.SpanID() != cs.sc.SpanID() || ss.status == codes.Error {
		t.Fatalf("server span parent %v status %v", ss.parent.SpanID(), ss.status)
	}
}

func TestTraceIDWithoutSpan(t *testing.T) {
	// Outside a request there is no trace.
	if got := tracing.TraceID()(context.Background()); got != "" {
		t.Fatalf("TraceID() = %q", got)
	}
	if got := tracing.SpanID()(context.Background()); got != "" {
		t.Fatalf("SpanID() = %q", got)
	}
	// A logging middleware outside tracing sees the server span through
	// the traceparent written back into the request header.
	p := &provider{}
	h := header{}
	ctx := transport.NewServerContext(context.Background(), rpc{op: "/svc/M", h: h})
	var outerTrace, outerSpan any
	outer := func(next func(context.Context, any) (any, error)) func(context.Context, any) (any, error) {
		return func(ctx context.Context, req any) (any, error) {
			r, err := next(ctx, req)
			outerTrace, outerSpan = tracing.TraceID()(ctx), tracing.SpanID()(ctx)
			return r, err
		}
	}
	handler := tracing.Server(tracing.WithTracerProvider(p))(func(context.Context, any) (any, error) { return nil, nil })
	_, _ = outer(handler)(ctx, nil)
	s := p.spans[0]
	if outerTrace != s.sc.TraceID().String() || outerSpan != s.sc.SpanID().String() {
		t.Fatalf("outer middleware saw %v/%v, want %s/%s", outerTrace, outerSpan, s.sc.TraceID(), s.sc.SpanID())
	}
	// Without a Transporter the middleware passes the call through.
	if _, err := tracing.Server()(func(context.Context, any) (any, error) { return "ok", nil })(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tracing.Client()(func(context.Context, any) (any, error) { return "ok", nil })(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkServerNoopProvider(b *testing.B) {
	h := tracing.Server(tracing.WithTracerProvider(noop.NewTracerProvider()))(func(context.Context, any) (any, error) { return nil, nil })
	ctx := transport.NewServerContext(context.Background(), rpc{op: "/svc/M", h: header{}})
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}
