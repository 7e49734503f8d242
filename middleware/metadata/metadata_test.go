package metadata_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/log"
	md "github.com/zelos-go/zelos/metadata"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/grpc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// httpTransporter is a transport.Transporter over HTTP headers, as the HTTP
// transport's.
type httpTransporter struct {
	header http.Header
}

func (t *httpTransporter) Kind() transport.Kind            { return transport.KindHTTP }
func (t *httpTransporter) Endpoint() string                { return "http://127.0.0.1:8000" }
func (t *httpTransporter) Operation() string               { return "/users/{id}" }
func (t *httpTransporter) RequestHeader() transport.Header { return headerCarrier(t.header) }
func (t *httpTransporter) ReplyHeader() transport.Header   { return headerCarrier(http.Header{}) }

type headerCarrier http.Header

func (h headerCarrier) Get(k string) string      { return http.Header(h).Get(k) }
func (h headerCarrier) Set(k, v string)          { http.Header(h).Set(k, v) }
func (h headerCarrier) Add(k, v string)          { http.Header(h).Add(k, v) }
func (h headerCarrier) Values(k string) []string { return http.Header(h).Values(k) }
func (h headerCarrier) Keys() []string {
	if len(h) == 0 {
		return nil
	}
	ks := make([]string, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	return ks
}

// serverMD runs m as server middleware over header and returns the server
// metadata the handler sees.
func serverMD(t *testing.T, m middleware.Middleware, header http.Header) (md.Metadata, bool) {
	t.Helper()
	var got md.Metadata
	var ok bool
	h := m(func(ctx context.Context, _ any) (any, error) {
		got, ok = md.FromServerContext(ctx)
		return nil, nil
	})
	ctx := transport.NewServerContext(context.Background(), &httpTransporter{header: header})
	if _, err := h(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return got, ok
}

func TestServerExtractsPrefixedHeaders(t *testing.T) {
	header := http.Header{}
	header.Add("X-Md-Global-User", "alice")
	header.Add("X-Md-Global-User", "bob")
	header.Add("X-Md-Local-Hop", "1")
	header.Add("Authorization", "secret")
	got, ok := serverMD(t, metadata.Server(), header)
	if !ok {
		t.Fatal("no server metadata")
	}
	want := md.Metadata{"x-md-global-user": {"alice", "bob"}, "x-md-local-hop": {"1"}}
	if len(got) != len(want) || !slices.Equal(got["x-md-global-user"], want["x-md-global-user"]) || got.Get("x-md-local-hop") != "1" {
		t.Errorf("server metadata = %v, want %v", got, want)
	}
}

func TestServerOptions(t *testing.T) {
	header := http.Header{"X-Tenant-Id": {"t1"}, "X-Md-Global-User": {"alice"}}
	got, _ := serverMD(t, metadata.Server(
		metadata.WithPrefix("x-tenant-"),
		metadata.WithConstants(md.Pairs("x-tenant-id", "default", "region", "eu")),
	), header)
	if got.Get("x-tenant-id") != "t1" || got.Get("region") != "eu" || got.Get("x-md-global-user") != "" {
		t.Errorf("server metadata = %v, want the header's tenant, the constant region and no x-md key", got)
	}

	// Constants alone.
	got, ok := serverMD(t, metadata.Server(metadata.WithConstants(md.Pairs("region", "eu"))), http.Header{})
	if !ok || got.Get("region") != "eu" {
		t.Errorf("server metadata = %v, %v; want the constants", got, ok)
	}
	// Constants built as a map literal, with keys that are not lower-case.
	got, ok = serverMD(t, metadata.Server(metadata.WithConstants(md.Metadata{"X-Md-Global-App": {"shop"}})), http.Header{})
	if !ok || got.Get("x-md-global-app") != "shop" {
		t.Errorf("server metadata = %v, %v; want the mixed-case constant under its lower-case key", got, ok)
	}
	// Nothing: no metadata in the context.
	if got, ok := serverMD(t, metadata.Server(), http.Header{"Accept": {"*/*"}}); ok {
		t.Errorf("server metadata = %v without metadata headers", got)
	}
}

// clientHeader runs m as client middleware with ctx and returns the request
// header it set.
func clientHeader(t *testing.T, m middleware.Middleware, ctx context.Context) http.Header {
	t.Helper()
	tr := &httpTransporter{header: http.Header{}}
	h := m(func(context.Context, any) (any, error) { return nil, nil })
	if _, err := h(transport.NewClientContext(ctx, tr), nil); err != nil {
		t.Fatal(err)
	}
	return tr.header
}

func TestClientSetsAndForwards(t *testing.T) {
	ctx := md.NewServerContext(context.Background(), md.Metadata{
		"x-md-global-user": {"alice"},
		"x-md-global-ver":  {"1"},
		"x-md-local-hop":   {"1"}, // stops here
	})
	ctx = md.AppendToClientContext(ctx, "x-md-global-ver", "2", "x-md-local-call", "c")
	h := clientHeader(t, metadata.Client(metadata.WithConstants(md.Pairs("x-md-global-user", "const", "app", "zelos"))), ctx)
	want := http.Header{
		"X-Md-Global-User": {"alice"}, // the server's beats the constant
		"X-Md-Global-Ver":  {"2"},     // the client context's beats the server's
		"X-Md-Local-Call":  {"c"},
		"App":              {"zelos"},
	}
	if len(h) != len(want) {
		t.Errorf("header = %v, want %v", h, want)
	}
	for k, v := range want {
		if !slices.Equal(h[k], v) {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}

	h = clientHeader(t, metadata.Client(metadata.WithPropagatedPrefix("x-md-local-")), ctx)
	if h.Get("X-Md-Local-Hop") != "1" || h.Get("X-Md-Global-User") != "" {
		t.Errorf("with a custom propagated prefix, header = %v", h)
	}
}

func TestNoMetadataDoesNotAllocate(t *testing.T) {
	next := func(context.Context, any) (any, error) { return nil, nil }
	srv := metadata.Server()(next)
	cli := metadata.Client()(next)
	sctx := transport.NewServerContext(context.Background(), &httpTransporter{header: http.Header{}})
	cctx := transport.NewClientContext(context.Background(), &httpTransporter{header: http.Header{}})
	if n := testing.AllocsPerRun(100, func() { _, _ = srv(sctx, nil) }); n != 0 {
		t.Errorf("Server allocates %v times without metadata, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = cli(cctx, nil) }); n != 0 {
		t.Errorf("Client allocates %v times without metadata, want 0", n)
	}
	// Without a Transporter, both pass through.
	if _, err := srv(context.Background(), nil); err != nil {
		t.Error(err)
	}
	if _, err := cli(context.Background(), nil); err != nil {
		t.Error(err)
	}
}

// hop is a TestService that reports the metadata it received and, if next
// is set, forwards the call to next first.
type hop struct {
	testpb.UnimplementedTestServiceServer
	next testpb.TestServiceClient
	seen chan md.Metadata
}

func (h *hop) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	m, _ := md.FromServerContext(ctx)
	h.seen <- m
	if h.next != nil {
		return h.next.UnaryCall(ctx, in)
	}
	return &testpb.SimpleResponse{}, nil
}

func serve(t *testing.T, svc testpb.TestServiceServer) string {
	t.Helper()
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)), grpc.Middleware(metadata.Server()))
	testpb.RegisterTestServiceServer(srv, svc)
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		<-done
	})
	return ep.String()
}

func dial(t *testing.T, ep string) testpb.TestServiceClient {
	t.Helper()
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep), grpc.WithMiddleware(metadata.Client()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

// TestPropagationOverGRPC checks, over real gRPC hops client -> A -> B, that
// global metadata crosses every hop and local metadata only one.
func TestPropagationOverGRPC(t *testing.T) {
	b := &hop{seen: make(chan md.Metadata, 1)}
	a := &hop{seen: make(chan md.Metadata, 1), next: dial(t, serve(t, b))}
	client := dial(t, serve(t, a))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = md.AppendToClientContext(ctx, "x-md-global-trace", "t-1", "x-md-local-caller", "web")
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	atA, atB := <-a.seen, <-b.seen
	if atA.Get("x-md-global-trace") != "t-1" || atA.Get("x-md-local-caller") != "web" {
		t.Errorf("A saw %v, want the global and the local key", atA)
	}
	if atB.Get("x-md-global-trace") != "t-1" || atB.Get("x-md-local-caller") != "" {
		t.Errorf("B saw %v, want the global key only", atB)
	}
}
