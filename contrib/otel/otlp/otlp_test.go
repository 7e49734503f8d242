package otlp_test

import (
	"context"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/contrib/otel/otlp"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opentelemetry.io/otel/sdk/trace.(*batchSpanProcessor).processQueue"))
}

// provider exports through the real OTLP/gRPC exporter to the collector,
// with a syncer so each span is sent when it ends.
func provider(t *testing.T, c *collector, service string) *sdktrace.TracerProvider {
	t.Helper()
	tp, err := otlp.NewTracerProvider(context.Background(), otlp.WithServiceName(service), otlp.WithEndpoint(c.addr), otlp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
	})
	return tp
}

func flush(t *testing.T, tps ...*sdktrace.TracerProvider) {
	t.Helper()
	for _, tp := range tps {
		if err := tp.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// records keeps log lines as maps.
type records struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (r *records) Log(_ log.Level, kv ...any) error {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	r.mu.Lock()
	r.lines = append(r.lines, m)
	r.mu.Unlock()
	return nil
}

func (r *records) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.lines...)
}

type relay struct {
	testpb.UnimplementedTestServiceServer
	next testpb.TestServiceClient // nil at the last hop
}

func (r relay) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if r.next == nil {
		return &testpb.SimpleResponse{Username: "C"}, nil
	}
	res, err := r.next.UnaryCall(ctx, in)
	if err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Username: "B>" + res.Username}, nil
}

type server interface {
	Start(context.Context) error
	Stop(context.Context) error
}

func serve(t *testing.T, s server) {
	done := make(chan error, 1)
	go func() { done <- s.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = s.Stop(context.Background())
		<-done
	})
}

// grpcHop starts a gRPC service traced with tp that relays to next, and
// returns its endpoint.
func grpcHop(t *testing.T, tp *sdktrace.TracerProvider, next testpb.TestServiceClient) string {
	t.Helper()
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)), grpc.Middleware(tracing.Server(tracing.WithTracerProvider(tp))))
	testpb.RegisterTestServiceServer(srv, relay{next: next})
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	return ep.String()
}

func dial(t *testing.T, ep string, tp *sdktrace.TracerProvider) testpb.TestServiceClient {
	t.Helper()
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep), grpc.WithMiddleware(tracing.Client(tracing.WithTracerProvider(tp))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

// TestThreeHops follows one request: an otelhttp client → service A (HTTP)
// → service B (gRPC) → service C (gRPC), each exporting through a real
// OTLP/gRPC exporter to the in-process collector.
func TestThreeHops(t *testing.T) {
	col := newCollector(t)
	tpClient, tpA, tpB, tpC := provider(t, col, "client"), provider(t, col, "A"), provider(t, col, "B"), provider(t, col, "C")
	// Each hop's client is traced by the calling service's provider.
	epC := grpcHop(t, tpC, nil)
	epB := grpcHop(t, tpB, dial(t, epC, tpB))
	bClient := dial(t, epB, tpA)

	logs := &records{}
	logger := log.With(logs, "trace.id", tracing.TraceID(), "span.id", tracing.SpanID())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Logging BEFORE tracing: the access line must still carry A's IDs.
	a := http.NewServer(http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard)),
		http.Middleware(logging.Server(logger), tracing.Server(tracing.WithTracerProvider(tpA))))
	a.Route("/").GET("/v1/orders/{id}", func(ctx http.Context) error {
		log.NewHelper(logger).WithContext(ctx).Infow("msg", "inside")
		res, err := bClient.UnaryCall(ctx, &testpb.SimpleRequest{})
		if err != nil {
			return err
		}
		return ctx.Result(200, map[string]string{"path": "A>" + res.Username})
	})
	serve(t, a)

	// The caller is plain net/http instrumented with otelhttp.
	hc := &nethttp.Client{Transport: otelhttp.NewTransport(nethttp.DefaultTransport,
		otelhttp.WithTracerProvider(tpClient), otelhttp.WithPropagators(propagation.TraceContext{}))}
	res, err := hc.Get("http://" + lis.Addr().String() + "/v1/orders/7")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `A\u003eB\u003eC`) {
		t.Fatalf("reply %d %s", res.StatusCode, body)
	}
	flush(t, tpClient, tpA, tpB, tpC)
	spans := col.wait(t, 6)

	byService := map[string][]*span{}
	for _, s := range spans {
		byService[s.service] = append(byService[s.service], s)
	}
	traceID := byService["client"][0].traceID()
	for _, s := range spans {
		if s.traceID() != traceID {
			t.Errorf("span %s of %s has trace %s, want %s", s.Name, s.service, s.traceID(), traceID)
		}
	}
	kind := func(s *span) string { return s.Kind.String() }
	find := func(service, k string) *span {
		for _, s := range byService[service] {
			if kind(s) == k {
				return s
			}
		}
		t.Fatalf("no %s span from %s among %d spans", k, service, len(spans))
		return nil
	}
	clientSpan := find("client", "SPAN_KIND_CLIENT")
	aServer := find("A", "SPAN_KIND_SERVER")
	aClient := find("A", "SPAN_KIND_CLIENT")
	bServer := find("B", "SPAN_KIND_SERVER")
	bClient2 := find("B", "SPAN_KIND_CLIENT")
	cServer := find("C", "SPAN_KIND_SERVER")
	for _, link := range []struct {
		child, parent *span
	}{{aServer, clientSpan}, {aClient, aServer}, {bServer, aClient}, {bClient2, bServer}, {cServer, bClient2}} {
		if link.child.parentID() != link.parent.spanID() {
			t.Errorf("%s/%s's parent is %s, want %s/%s (%s)", link.child.service, link.child.Name, link.child.parentID(), link.parent.service, link.parent.Name, link.parent.spanID())
		}
	}

	// Names and attributes.
	if aServer.Name != "/v1/orders/{id}" || aServer.attr("http.route") != "/v1/orders/{id}" || aServer.attr("http.response.status_code") != "200" || aServer.attr("http.request.method") != "GET" {
		t.Errorf("A's server span: %s %v", aServer.Name, aServer.Attributes)
	}
	if bServer.Name != "/grpc.testing.TestService/UnaryCall" || bServer.attr("rpc.system.name") != "grpc" ||
		bServer.attr("rpc.method") != "grpc.testing.TestService/UnaryCall" || bServer.attr("rpc.response.status_code") != "OK" {
		t.Errorf("B's server span: %s %v", bServer.Name, bServer.Attributes)
	}
	if aClient.attr("server.address") != "127.0.0.1" || aClient.attr("server.port") == "" {
		t.Errorf("A's client span lacks server.address/port: %v", aClient.Attributes)
	}

	// Logs: the line inside the handler and the access line of a logging
	// middleware placed before tracing carry A's trace and span IDs.
	lines := logs.all()
	if len(lines) != 2 {
		t.Fatalf("log lines = %v", lines)
	}
	for _, l := range lines {
		if l["trace.id"] != traceID || l["span.id"] != aServer.spanID() {
			t.Errorf("log line %v: want trace.id %s span.id %s", l, traceID, aServer.spanID())
		}
	}
}

func TestErrorStatus(t *testing.T) {
	col := newCollector(t)
	tp := provider(t, col, "svc")
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)), grpc.Middleware(tracing.Server(tracing.WithTracerProvider(tp))))
	testpb.RegisterTestServiceServer(srv, failing{})
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	client := dial(t, ep.String(), tp)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 404}, ggrpc.WaitForReady(true))
	_, _ = client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 503})
	flush(t, tp)
	spans := col.wait(t, 4)
	for _, s := range spans {
		server := s.Kind.String() == "SPAN_KIND_SERVER"
		status := s.attr("rpc.response.status_code")
		isErr := s.Status.GetCode().String() == "STATUS_CODE_ERROR"
		// A 404 is an error for the client only; a 503 for both.
		want := status == "UNAVAILABLE" || (status == "NOT_FOUND" && !server)
		if isErr != want {
			t.Errorf("%s span with %s: error status %v, want %v", s.Kind, status, isErr, want)
		}
		if status == "UNAVAILABLE" && (s.attr("error.type") != "UNAVAILABLE" || s.attr("zelos.error.reason") != "DOWN") {
			t.Errorf("503 span attributes: %v", s.Attributes)
		}
	}
}

type failing struct {
	testpb.UnimplementedTestServiceServer
}

func (failing) UnaryCall(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if in.ResponseSize == 404 {
		return nil, errors.NotFound("USER_NOT_FOUND", "no user")
	}
	return nil, errors.ServiceUnavailable("DOWN", "down")
}

func TestEnabled(t *testing.T) {
	t.Setenv(otlp.EndpointEnv, "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if otlp.Enabled() {
		t.Fatal("enabled with no endpoint")
	}
	t.Setenv(otlp.EndpointEnv, "http://127.0.0.1:4317")
	if !otlp.Enabled() {
		t.Fatal("not enabled with an endpoint")
	}
	tp, err := otlp.NewTracerProvider(context.Background(), otlp.WithEndpoint("http://127.0.0.1:4317"), otlp.WithServiceVersion("1.2.3"), otlp.WithSampler(sdktrace.AlwaysSample()))
	if err != nil {
		t.Fatal(err)
	}
	_ = tp.Shutdown(context.Background())
}
