package logging_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/transport"
)

// captureLogger records what is logged to it.
type captureLogger struct {
	mu      sync.Mutex
	records []record
}

type record struct {
	level log.Level
	kv    []any
}

func (l *captureLogger) Log(level log.Level, kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, record{level, append([]any(nil), kv...)})
	return nil
}

func (l *captureLogger) all() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.records...)
}

func (r record) get(key string) (any, bool) {
	for i := 0; i+1 < len(r.kv); i += 2 {
		if r.kv[i] == key {
			return r.kv[i+1], true
		}
	}
	return nil, false
}

func (r record) keys() []string {
	var ks []string
	for i := 0; i < len(r.kv); i += 2 {
		ks = append(ks, fmt.Sprint(r.kv[i]))
	}
	return ks
}

// httpTransporter is a transport.Transporter for a plain HTTP route.
type httpTransporter struct {
	op             string
	header, replyH http.Header
}

func (t *httpTransporter) Kind() transport.Kind            { return transport.KindHTTP }
func (t *httpTransporter) Endpoint() string                { return "http://127.0.0.1:8000" }
func (t *httpTransporter) Operation() string               { return t.op }
func (t *httpTransporter) RequestHeader() transport.Header { return headerCarrier(t.header) }
func (t *httpTransporter) ReplyHeader() transport.Header   { return headerCarrier(t.replyH) }

type headerCarrier http.Header

func (h headerCarrier) Get(k string) string      { return http.Header(h).Get(k) }
func (h headerCarrier) Set(k, v string)          { http.Header(h).Set(k, v) }
func (h headerCarrier) Add(k, v string)          { http.Header(h).Add(k, v) }
func (h headerCarrier) Values(k string) []string { return http.Header(h).Values(k) }
func (h headerCarrier) Keys() []string {
	ks := make([]string, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	return ks
}

func serverCtx(op string) context.Context {
	return transport.NewServerContext(context.Background(), &httpTransporter{op: op, header: http.Header{}, replyH: http.Header{}})
}

func ok(_ context.Context, req any) (any, error) { return req, nil }

func notFound(context.Context, any) (any, error) {
	return nil, errors.NotFound("USER_NOT_FOUND", "no user")
}

func TestServerLogsSuccessAtInfo(t *testing.T) {
	logger := &captureLogger{}
	h := logging.Server(logger)(ok)
	if reply, err := h(serverCtx("/users/{id}"), "req"); reply != "req" || err != nil {
		t.Fatalf("h = %v, %v", reply, err)
	}
	recs := logger.all()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.level != log.LevelInfo {
		t.Errorf("level = %v, want INFO", r.level)
	}
	want := map[string]any{"kind": "server", "component": "http", "operation": "/users/{id}", "code": 200, "reason": ""}
	for k, v := range want {
		if got, _ := r.get(k); got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	if lat, _ := r.get("latency"); lat == nil {
		t.Error("no latency")
	} else if f, ok := lat.(float64); !ok || f < 0 {
		t.Errorf("latency = %#v, want non-negative seconds", lat)
	}
	for _, k := range []string{"args", "error", "msg", "level", "time", "caller"} {
		if _, ok := r.get(k); ok {
			t.Errorf("%q logged by default", k)
		}
	}
}

func TestServerLogsFailureAtError(t *testing.T) {
	logger := &captureLogger{}
	_, err := logging.Server(logger)(notFound)(serverCtx("/users/{id}"), nil)
	if !errors.IsNotFound(err) {
		t.Fatalf("error = %v, want the handler's", err)
	}
	r := logger.all()[0]
	if r.level != log.LevelError {
		t.Errorf("level = %v, want ERROR", r.level)
	}
	if code, _ := r.get("code"); code != 404 {
		t.Errorf("code = %v, want 404", code)
	}
	if reason, _ := r.get("reason"); reason != "USER_NOT_FOUND" {
		t.Errorf("reason = %v", reason)
	}
	if e, _ := r.get("error"); e != err {
		t.Errorf("error = %v, want %v", e, err)
	}
}

func TestOptionsForm(t *testing.T) {
	logger := &captureLogger{}
	h := logging.Server(
		logging.WithLogger(logger),
		logging.WithMessageKey("msg"),
		logging.WithLevelKey("level"),
		logging.WithTimestampKey("time"),
		logging.WithCallerKey("caller"),
	)(notFound)
	_, _ = h(serverCtx("/x"), nil)
	r := logger.all()[0]
	if got := strings.Join(r.keys()[:4], ","); got != "msg,level,time,caller" {
		t.Errorf("first keys = %s", got)
	}
	if msg, _ := r.get("msg"); msg != "server request" {
		t.Errorf("msg = %v", msg)
	}
	if lvl, _ := r.get("level"); lvl != "ERROR" {
		t.Errorf("level = %v", lvl)
	}
	if caller, _ := r.get("caller"); !strings.HasPrefix(fmt.Sprint(caller), "logging/logging_test.go:") {
		t.Errorf("caller = %v, want the line building the middleware", caller)
	}
}

type secret struct{ user, password string }

func (s secret) Redact() string { return "user=" + s.user }

func TestArgs(t *testing.T) {
	logger := &captureLogger{}
	h := logging.Server(logger, logging.WithArgs())(ok)
	_, _ = h(serverCtx("/login"), secret{"bob", "hunter2"})
	_, _ = h(serverCtx("/login"), 42)
	recs := logger.all()
	if args, _ := recs[0].get("args"); args != "user=bob" {
		t.Errorf("args = %v, want the redacted form", args)
	}
	if args, _ := recs[1].get("args"); args != 42 {
		t.Errorf("args = %v, want the request", args)
	}
}

func TestClientUsesClientTransporter(t *testing.T) {
	logger := &captureLogger{}
	ctx := transport.NewClientContext(context.Background(), &httpTransporter{op: "/helloworld.v1.Greeter/SayHello", header: http.Header{}})
	_, _ = logging.Client(logger)(ok)(ctx, nil)
	// Without a Transporter, the record still has the outcome.
	_, _ = logging.Client(logger)(ok)(context.Background(), nil)
	recs := logger.all()
	if kind, _ := recs[0].get("kind"); kind != "client" {
		t.Errorf("kind = %v", kind)
	}
	if op, _ := recs[0].get("operation"); op != "/helloworld.v1.Greeter/SayHello" {
		t.Errorf("operation = %v", op)
	}
	if _, ok := recs[1].get("operation"); ok {
		t.Error("operation logged without a Transporter")
	}
	if code, _ := recs[1].get("code"); code != 200 {
		t.Errorf("code = %v", code)
	}
}

func TestNilLoggerOptionIsIgnored(t *testing.T) {
	logger := &captureLogger{}
	var nilLogger log.Logger
	_, _ = logging.Server(logger, nilLogger)(ok)(serverCtx("/x"), nil)
	if len(logger.all()) != 1 {
		t.Error("a nil Option replaced the logger")
	}
}

// discard is a Logger doing nothing, to measure the middleware alone.
type discard struct{}

func (discard) Log(log.Level, ...any) error { return nil }

func TestAllocations(t *testing.T) {
	ctx := serverCtx("/users/{id}")
	var h middleware.Handler = logging.Server(discard{})(ok)
	if n := testing.AllocsPerRun(200, func() { _, _ = h(ctx, nil) }); n > 2 {
		t.Errorf("logging a request allocates %v times, want at most 2", n)
	}
	// And with the standard logger writing nowhere.
	h = logging.Server(log.NewStdLogger(io.Discard))(ok)
	t.Logf("with log.NewStdLogger(io.Discard): %v allocs/request", testing.AllocsPerRun(200, func() { _, _ = h(ctx, nil) }))
}
