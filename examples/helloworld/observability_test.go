package main

import (
	"context"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	v1 "github.com/zelos-go/zelos/examples/helloworld/api/helloworld/v1"
)

// get returns the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &nethttp.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&nethttp.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func sayHelloGRPC(t *testing.T, addr, name string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := v1.NewGreeterClient(conn).SayHello(ctx, &v1.HelloRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
}

func TestObservability(t *testing.T) {
	s := start(t)
	api, adm := "http://"+s.httpAddr, "http://"+s.adminAddr

	t.Run("probes on the public port", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/health"} {
			if code, body := get(t, api+path); code != 200 || body != "ok\n" {
				t.Errorf("GET %s = %d %q", path, code, body)
			}
		}
	})
	t.Run("no pprof on the public port", func(t *testing.T) {
		if code, _ := get(t, api+"/debug/pprof/"); code != 404 {
			t.Fatalf("public /debug/pprof/ = %d, want 404", code)
		}
	})
	t.Run("admin port", func(t *testing.T) {
		for _, tc := range []struct{ path, has string }{
			{"/healthz", "ok"},
			{"/readyz?verbose", "[+]serving ok"},
			{"/debug/pprof/", "goroutine"},
		} {
			if code, body := get(t, adm+tc.path); code != 200 || !strings.Contains(body, tc.has) {
				t.Errorf("admin GET %s = %d %.200q", tc.path, code, body)
			}
		}
	})
	t.Run("metrics", func(t *testing.T) {
		if code, _ := get(t, api+"/helloworld/metrics"); code != 200 {
			t.Fatalf("SayHello over HTTP = %d", code)
		}
		sayHelloGRPC(t, s.grpcAddr, "metrics")
		code, body := get(t, adm+"/metrics")
		if code != 200 {
			t.Fatalf("/metrics = %d", code)
		}
		for _, want := range []string{
			`http_server_request_duration_seconds_count{`,
			`http_route="/helloworld/{name}"`,
			`rpc_server_call_duration_seconds_count{`,
			`rpc_method="helloworld.v1.Greeter/SayHello"`,
			`go_goroutines `,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics has no %s", want)
			}
		}
		if t.Failed() {
			t.Logf("/metrics:\n%s", body)
		}
	})
}

// collector is an OTLP/gRPC trace collector that keeps the names of the
// spans it receives, by service.name.
type collector struct {
	coltrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans map[string][]string // service.name: span names
}

func (c *collector) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				c.spans[service] = append(c.spans[service], sp.GetName())
			}
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

func (c *collector) names(service string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.spans[service]...)
}

func TestTracesToOTLP(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{spans: map[string][]string{}}
	srv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	s := startEnv(t, []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + lis.Addr().String(), // http: no TLS
		"OTEL_BSP_SCHEDULE_DELAY=50",                                // ms: send spans soon
	})
	if code, _ := get(t, "http://"+s.httpAddr+"/helloworld/traced"); code != 200 {
		t.Fatalf("SayHello over HTTP = %d", code)
	}
	sayHelloGRPC(t, s.grpcAddr, "traced")
	deadline := time.Now().Add(20 * time.Second)
	for {
		names := strings.Join(col.names("helloworld"), ",")
		if strings.Contains(names, "/helloworld.v1.Greeter/SayHello") && strings.Count(names, "SayHello") >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector got spans %q for helloworld, want the HTTP and gRPC SayHello\n%s", names, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
