package retry_test

import (
	"context"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/ratelimit"
	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

// limited is a server rate limit of one request per 300ms.
func limited() middleware.Middleware {
	return ratelimit.Server(ratelimit.WithLimiter(ratelimit.NewMemoryLimiter(
		ratelimit.WithInterval(300*time.Millisecond), ratelimit.WithBurst(1))))
}

// checkRetryAfter makes two calls: the second is refused with 429 and
// must succeed once retried after the limiter's Retry-After, not after the
// 10ms backoff.
func checkRetryAfter(t *testing.T, call func() error) {
	t.Helper()
	if err := call(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := call(); err != nil {
		t.Fatalf("the rate-limited call failed: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("the retry came after %v; want the limiter's Retry-After (about 300ms)", d)
	}
}

func TestRetryAfterFromRateLimit(t *testing.T) {
	m := retry.Client(retry.WithDelay(10*time.Millisecond), retry.WithBudget(nil))
	t.Run("http", func(t *testing.T) {
		srv := http.NewServer(http.Address("127.0.0.1:0"), http.Logger(quiet), http.Middleware(limited()))
		srv.Route("/").POST("/echo", func(ctx http.Context) error { return ctx.String(200, "ok") })
		u, err := srv.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Start(context.Background()) }()
		defer func() { _ = srv.Stop(context.Background()); <-errc }()
		c, err := http.NewClient(context.Background(), http.WithEndpoint(u.String()), http.WithMiddleware(m))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkRetryAfter(t, func() error { return c.Invoke(context.Background(), "POST", "/echo", &msg{}, nil) })
	})
	t.Run("grpc", func(t *testing.T) {
		srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet), grpc.Middleware(limited()))
		var a arrivals
		testpb.RegisterTestServiceServer(srv, &echoService{a: &a})
		u, err := srv.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Start(context.Background()) }()
		defer func() { _ = srv.Stop(context.Background()); <-errc }()
		cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(u.String()), grpc.WithMiddleware(m))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		client := testpb.NewTestServiceClient(cc)
		checkRetryAfter(t, func() error {
			_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
			return err
		})
	})
}
