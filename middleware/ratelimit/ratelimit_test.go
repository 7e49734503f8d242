package ratelimit_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	nethttp "net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/ratelimit"
	"github.com/zelos-go/zelos/resilience/bbr"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a manual clock shared by a limiter and its test.
type clock struct{ t atomic.Int64 }

func (c *clock) now() int64 { return c.t.Load() }

func quiet() log.Logger { return log.NewStdLogger(io.Discard) }

func startHTTP(t *testing.T, l ratelimit.Limiter) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := http.NewServer(http.Listener(lis), http.Logger(quiet()), http.Middleware(ratelimit.Server(ratelimit.WithLimiter(l))))
	srv.Route("/").GET("/ping", func(ctx http.Context) error { return ctx.String(200, "pong") })
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		<-done
	})
	return "http://" + lis.Addr().String()
}

func TestHTTPBurstThenRetryAfter(t *testing.T) {
	c := &clock{}
	base := startHTTP(t, ratelimit.NewMemoryLimiter(ratelimit.WithInterval(time.Second), ratelimit.WithBurst(3), ratelimit.WithClock(c.now)))
	get := func() *nethttp.Response {
		t.Helper()
		res, err := nethttp.Get(base + "/ping")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for i := range 3 {
		if res := get(); res.StatusCode != 200 {
			t.Fatalf("request %d within the burst: status %d", i, res.StatusCode)
		}
	}
	res := get()
	if res.StatusCode != 429 {
		t.Fatalf("past the burst: status %d, want 429", res.StatusCode)
	}
	if ra := res.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After = %q, want 1", ra)
	}
	var body struct {
		Code     int               `json:"code"`
		Reason   string            `json:"reason"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Code != 429 || body.Reason != ratelimit.Reason || body.Metadata["retry_after"] != "333ms" {
		t.Fatalf("body = %+v, want 429 RATELIMIT with retry_after 333ms", body)
	}
	c.t.Add(int64(time.Second))
	if res := get(); res.StatusCode != 200 {
		t.Fatalf("after the interval: status %d, want 200", res.StatusCode)
	}
}

func TestHTTPClientSeesTooManyRequests(t *testing.T) {
	c := &clock{}
	base := startHTTP(t, ratelimit.NewMemoryLimiter(ratelimit.WithBurst(1), ratelimit.WithClock(c.now)))
	cl, err := http.NewClient(context.Background(), http.WithEndpoint(base))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out any
	_ = cl.Invoke(context.Background(), "GET", "/ping", nil, &out)
	err = cl.Invoke(context.Background(), "GET", "/ping", nil, &out)
	if !errors.IsTooManyRequests(err) || errors.Reason(err) != ratelimit.Reason {
		t.Fatalf("err = %v, want 429 RATELIMIT", err)
	}
}

type echo struct {
	testpb.UnimplementedTestServiceServer
}

func (echo) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{}, nil
}

func TestGRPCResourceExhausted(t *testing.T) {
	c := &clock{}
	l := ratelimit.NewMemoryLimiter(ratelimit.WithBurst(2), ratelimit.WithClock(c.now))
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet()), grpc.Middleware(ratelimit.Server(ratelimit.WithLimiter(l))))
	testpb.RegisterTestServiceServer(srv, echo{})
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	defer func() {
		_ = srv.Stop(context.Background())
		<-done
	}()
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := testpb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{})
	if status.Code(err) != codes.ResourceExhausted || !errors.IsTooManyRequests(err) || errors.Reason(err) != ratelimit.Reason {
		t.Fatalf("past the burst: %v, want ResourceExhausted with reason RATELIMIT", err)
	}
	c.t.Add(int64(time.Second))
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
}

func TestPerKeyBuckets(t *testing.T) {
	type keyCtx struct{}
	c := &clock{}
	l := ratelimit.NewMemoryLimiter(ratelimit.WithBurst(1), ratelimit.WithClock(c.now),
		ratelimit.WithKey(func(ctx context.Context) string { s, _ := ctx.Value(keyCtx{}).(string); return s }))
	h := ratelimit.Server(ratelimit.WithLimiter(l))(func(context.Context, any) (any, error) { return "ok", nil })
	for _, key := range []string{"alice", "bob"} {
		ctx := context.WithValue(context.Background(), keyCtx{}, key)
		if _, err := h(ctx, nil); err != nil {
			t.Fatalf("%s first: %v", key, err)
		}
		if _, err := h(ctx, nil); !errors.IsTooManyRequests(err) {
			t.Fatalf("%s second: %v, want 429", key, err)
		}
	}
}

// failingLimiter rejects with a plain error.
type failingLimiter struct{ err error }

func (f failingLimiter) Allow(context.Context) (ratelimit.DoneFunc, error) { return nil, f.err }

func TestCustomLimiterErrors(t *testing.T) {
	next := func(context.Context, any) (any, error) { return "ok", nil }
	t.Run("plain error becomes 429", func(t *testing.T) {
		_, err := ratelimit.Server(ratelimit.WithLimiter(failingLimiter{io.EOF}))(next)(context.Background(), nil)
		if !errors.IsTooManyRequests(err) || !errors.Is(err, io.EOF) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("zelos error kept", func(t *testing.T) {
		want := errors.ServiceUnavailable("DRAINING", "draining")
		_, err := ratelimit.Server(ratelimit.WithLimiter(failingLimiter{want}))(next)(context.Background(), nil)
		if errors.Reason(err) != "DRAINING" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestBBRDefault(t *testing.T) {
	// A cool CPU sheds nothing; the done func releases the slot.
	l := ratelimit.NewBBR(bbr.WithCPU(bbr.CPUFunc(func() float64 { return 0 })))
	h := ratelimit.Server(ratelimit.WithLimiter(l))(func(context.Context, any) (any, error) { return "ok", nil })
	for range 100 {
		if _, err := h(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if ratelimit.Server() == nil {
		t.Fatal("Server() with no options")
	}
}

func BenchmarkMemoryLimiter(b *testing.B) {
	h := ratelimit.Server(ratelimit.WithLimiter(ratelimit.NewMemoryLimiter(ratelimit.WithBurst(1 << 30))))(
		func(context.Context, any) (any, error) { return nil, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}

func BenchmarkBBR(b *testing.B) {
	h := ratelimit.Server(ratelimit.WithLimiter(ratelimit.NewBBR(bbr.WithCPU(bbr.CPUFunc(func() float64 { return 0.9 })))))(
		func(context.Context, any) (any, error) { return nil, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}
