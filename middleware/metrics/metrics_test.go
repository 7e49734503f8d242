package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/http"
)

// recorder is an OpenTelemetry MeterProvider that keeps what is recorded,
// by instrument name and attribute set. It implements the OpenTelemetry
// API's interfaces (not one of ours), embedding the no-op ones for the
// methods the middleware does not call.
type recorder struct {
	noop.MeterProvider
	mu      sync.Mutex
	records []string
}

func (r *recorder) Meter(string, ...metric.MeterOption) metric.Meter { return &meter{r: r} }

func (r *recorder) add(name string, v float64, set attribute.Set) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var kv []string
	for _, a := range set.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	r.records = append(r.records, fmt.Sprintf("%s %v {%s}", name, v, strings.Join(kv, ",")))
}

func (r *recorder) find(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.records {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

type meter struct {
	noop.Meter
	r *recorder
}

func (m *meter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return &histogram{name: name, r: m.r}, nil
}

func (m *meter) Int64UpDownCounter(name string, _ ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	return &upDown{name: name, r: m.r}, nil
}

type histogram struct {
	noop.Float64Histogram
	name string
	r    *recorder
}

func (h *histogram) Record(_ context.Context, v float64, opts ...metric.RecordOption) {
	h.r.add(h.name, 0*v, metric.NewRecordConfig(opts).Attributes())
}

type upDown struct {
	noop.Int64UpDownCounter
	name string
	r    *recorder
}

func (c *upDown) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	c.r.add(c.name, float64(v), metric.NewAddConfig(opts).Attributes())
}

func serve(t *testing.T, rec *recorder, method, target string) int {
	t.Helper()
	srv := http.NewServer(http.Logger(log.NewStdLogger(io.Discard)), http.Middleware(metrics.Server(metrics.WithMeterProvider(rec))))
	r := srv.Route("/")
	r.GET("/v1/users/{id}", func(ctx http.Context) error {
		if ctx.Vars().Get("id") == "0" {
			return errors.NotFound("USER_NOT_FOUND", "no user")
		}
		return ctx.String(200, "ok")
	})
	r.Handle("", "/any", func(ctx http.Context) error { return ctx.String(202, "accepted") })
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w.Code
}

func TestHTTPServerLabels(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, want string
	}{
		{"ok", "GET", "/v1/users/42", "http.server.request.duration 0 {http.request.method=GET,http.response.status_code=200,http.route=/v1/users/{id}}"},
		{"not found", "GET", "/v1/users/0", "http.server.request.duration 0 {http.request.method=GET,http.response.status_code=404,http.route=/v1/users/{id},zelos.error.reason=USER_NOT_FOUND}"},
		{"odd method", "BREW", "/any", "http.server.request.duration 0 {http.request.method=_OTHER,http.response.status_code=202,http.route=/any}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			serve(t, rec, tc.method, tc.target)
			got := rec.find("http.server.request.duration")
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("recorded %q\nwant %q", got, tc.want)
			}
			active := rec.find("http.server.active_requests")
			if len(active) != 2 || !strings.HasPrefix(active[0], "http.server.active_requests 1 ") || !strings.HasPrefix(active[1], "http.server.active_requests -1 ") {
				t.Fatalf("active requests = %q, want +1 then -1", active)
			}
		})
	}
}

// fakeRPC is a server Transporter of the gRPC kind.
type fakeRPC struct{ op string }

func (f fakeRPC) Kind() transport.Kind            { return transport.KindGRPC }
func (f fakeRPC) Endpoint() string                { return "grpc://127.0.0.1:9000" }
func (f fakeRPC) Operation() string               { return f.op }
func (f fakeRPC) RequestHeader() transport.Header { return nil }
func (f fakeRPC) ReplyHeader() transport.Header   { return nil }

func TestRPCLabelsAndClient(t *testing.T) {
	rec := &recorder{}
	h := metrics.Server(metrics.WithMeterProvider(rec))(func(context.Context, any) (any, error) {
		return nil, errors.ServiceUnavailable("DOWN", "down")
	})
	ctx := transport.NewServerContext(context.Background(), fakeRPC{op: "/user.v1.User/Get"})
	_, _ = h(ctx, nil)
	want := "rpc.server.call.duration 0 {error.type=UNAVAILABLE,rpc.method=user.v1.User/Get,rpc.response.status_code=UNAVAILABLE,rpc.system.name=grpc,zelos.error.reason=DOWN}"
	if got := rec.find("rpc.server.call.duration"); len(got) != 1 || got[0] != want {
		t.Fatalf("recorded %q\nwant %q", got, want)
	}

	crec := &recorder{}
	c := metrics.Client(metrics.WithMeterProvider(crec))(func(context.Context, any) (any, error) { return "ok", nil })
	_, _ = c(transport.NewClientContext(context.Background(), fakeRPC{op: "/user.v1.User/Get"}), nil)
	if got := crec.find("rpc.client.call.duration"); len(got) != 1 || !strings.Contains(got[0], "rpc.response.status_code=OK") {
		t.Fatalf("client recorded %q", got)
	}
	// No Transporter: passed through unrecorded.
	_, _ = c(context.Background(), nil)
	if got := crec.find(""); len(got) != 1 {
		t.Fatalf("a call without a Transporter was recorded: %q", got)
	}
}

func TestSeriesBounded(t *testing.T) {
	rec := &recorder{}
	h := metrics.Server(metrics.WithMeterProvider(rec), metrics.WithMaxSeries(5))(func(ctx context.Context, _ any) (any, error) {
		tr, _ := transport.FromServerContext(ctx)
		return nil, errors.BadRequest("R_"+tr.Operation(), "x")
	})
	for i := range 100 {
		_, _ = h(transport.NewServerContext(context.Background(), fakeRPC{op: fmt.Sprintf("/svc/M%d", i)}), nil)
	}
	seen := map[string]bool{}
	for _, r := range rec.find("rpc.server.call.duration") {
		seen[r] = true
	}
	if len(seen) > 6 {
		t.Fatalf("%d label sets for 100 distinct methods and reasons, want at most 6", len(seen))
	}
	var all []string
	for k := range seen {
		all = append(all, k)
	}
	if !slices.ContainsFunc(all, func(s string) bool { return strings.Contains(s, "rpc.method=_OTHER") }) {
		t.Fatalf("no _OTHER set among %q", all)
	}
}

func BenchmarkServerNoop(b *testing.B) {
	h := metrics.Server(metrics.WithMeterProvider(noop.NewMeterProvider()))(func(context.Context, any) (any, error) { return nil, nil })
	ctx := transport.NewServerContext(context.Background(), fakeRPC{op: "/svc/M"})
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}
