// Package amplification measures how much load retries add when every
// backend fails: a client sends N requests to A, which calls B, which calls
// C; the client, A, B and C all use the retry middleware with its defaults (3 attempts,
// its budget), and C fails every call with 503. Naive retries would send
// 3×3×3 = 27 calls to C per request (81 with the client's); the budget, the retry marker and the
// no_retry pushback keep it at about 1.1.
//
//	cd bench && go test -run Amplification -v ./amplification/
package amplification

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

const (
	requests    = 1000 // the client's requests to A
	concurrency = 32
	bound       = 1.2 // calls at C per client request (issue 9)
)

var quiet = log.NewStdLogger(io.Discard)

// hopRetry is each hop's retry middleware: the defaults, with a short
// delay so that the test is quick (the budget, not the delay, sets the
// figure).
func hopRetry() middleware.Middleware { return retry.Client(retry.WithDelay(5 * time.Millisecond)) }

var errDown = errors.ServiceUnavailable("DOWN", "every backend is down")

func TestAmplification(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		var atC atomic.Int64
		c := startHTTP(t, func(http.Context) error { atC.Add(1); return errDown }, "")
		b := startHTTP(t, nil, c)
		a := startHTTP(t, nil, b)
		client := httpClient(t, a, hopRetry())
		send(t, "http", &atC, func(ctx context.Context) error {
			return client.Invoke(ctx, "POST", "/hop", struct{}{}, nil)
		})
	})
	t.Run("grpc", func(t *testing.T) {
		var atC atomic.Int64
		c := startGRPC(t, &hop{fail: func() { atC.Add(1) }})
		b := startGRPC(t, &hop{next: grpcClient(t, c)})
		a := startGRPC(t, &hop{next: grpcClient(t, b)})
		client := testpb.NewTestServiceClient(dialGRPC(t, a, hopRetry()))
		send(t, "grpc", &atC, func(ctx context.Context) error {
			_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
			return err
		})
	})
}

// send makes the client's requests (the client retries too) and checks the calls C saw.
func send(t *testing.T, name string, atC *atomic.Int64, call func(context.Context) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for next.Add(1) <= requests {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := call(ctx); !errors.IsServiceUnavailable(err) {
					t.Errorf("err = %v; want C's 503", err)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	ratio := float64(atC.Load()) / requests
	t.Logf("%s: %d client requests, every backend failing: %d calls reached C, %.3f× (naive 27×)", name, requests, atC.Load(), ratio)
	if ratio > bound {
		t.Errorf("amplification %.3f×; want at most %.1f×", ratio, bound)
	}
}

// startHTTP serves POST /hop: h if given, else a call to next with retry.
func startHTTP(t *testing.T, h http.HandlerFunc, next string) string {
	t.Helper()
	if h == nil {
		c := httpClient(t, next, hopRetry())
		h = func(ctx http.Context) error {
			if err := c.Invoke(ctx, "POST", "/hop", struct{}{}, nil); err != nil {
				return err
			}
			return ctx.String(200, "ok")
		}
	}
	srv := http.NewServer(http.Address("127.0.0.1:0"), http.Logger(quiet))
	srv.Route("/").POST("/hop", h)
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(context.Background()) }()
	t.Cleanup(func() { _ = srv.Stop(context.Background()); <-errc })
	return u.String()
}

func httpClient(t *testing.T, ep string, m middleware.Middleware) *http.Client {
	t.Helper()
	var opts []http.ClientOption
	if m != nil {
		opts = append(opts, http.WithMiddleware(m))
	}
	c, err := http.NewClient(context.Background(), append(opts, http.WithEndpoint(ep))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// hop is a gRPC hop: it calls next, or fails.
type hop struct {
	testpb.UnimplementedTestServiceServer
	next testpb.TestServiceClient
	fail func()
}

func (h *hop) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if h.next == nil {
		h.fail()
		return nil, errDown
	}
	return h.next.UnaryCall(ctx, in)
}

func startGRPC(t *testing.T, svc testpb.TestServiceServer) string {
	t.Helper()
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet))
	testpb.RegisterTestServiceServer(srv, svc)
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(context.Background()) }()
	t.Cleanup(func() { _ = srv.Stop(context.Background()); <-errc })
	return u.String()
}

func grpcClient(t *testing.T, ep string) testpb.TestServiceClient {
	return testpb.NewTestServiceClient(dialGRPC(t, ep, hopRetry()))
}

func dialGRPC(t *testing.T, ep string, m middleware.Middleware) *ggrpc.ClientConn {
	t.Helper()
	var opts []grpc.ClientOption
	if m != nil {
		opts = append(opts, grpc.WithMiddleware(m))
	}
	cc, err := grpc.DialInsecure(context.Background(), append(opts, grpc.WithEndpoint(ep), grpc.WithLogger(quiet))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
