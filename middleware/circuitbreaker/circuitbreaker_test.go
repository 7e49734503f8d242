package circuitbreaker_test

import (
	"context"
	"fmt"
	"io"
	"net"
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
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/circuitbreaker"
	"github.com/zelos-go/zelos/resilience/breaker"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct{ t atomic.Int64 }

func (c *clock) now() int64              { return c.t.Load() }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestIsBackendFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"500", errors.InternalServer("X", "x"), true},
		{"502", errors.New(502, "BAD_GATEWAY", "x"), true},
		{"503", errors.ServiceUnavailable("X", "x"), true},
		{"504", errors.GatewayTimeout("X", "x"), true},
		{"deadline", context.DeadlineExceeded, true},
		{"connection refused", &net.OpError{Op: "dial", Err: io.EOF}, true},
		{"grpc unavailable", status.Error(codes.Unavailable, "down"), true},
		{"grpc internal", status.Error(codes.Internal, "boom"), true},
		{"canceled by caller", context.Canceled, false},
		{"400", errors.BadRequest("X", "x"), false},
		{"404 business", errors.NotFound("USER_NOT_FOUND", "x"), false},
		{"429", errors.TooManyRequests("RATELIMIT", "x"), false},
		{"grpc invalid argument", status.Error(codes.InvalidArgument, "x"), false},
		{"grpc not found", status.Error(codes.NotFound, "x"), false},
		{"501", errors.NotImplemented("X", "x"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := circuitbreaker.IsBackendFailure(tc.err); got != tc.want {
				t.Fatalf("IsBackendFailure(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// backend counts the calls that reach it and fails while broken is set.
type backend struct {
	testpb.UnimplementedTestServiceServer
	hits   atomic.Int64
	broken atomic.Bool
}

func (b *backend) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	b.hits.Add(1)
	if b.broken.Load() {
		return nil, errors.ServiceUnavailable("DOWN", "backend down")
	}
	return &testpb.SimpleResponse{}, nil
}

func quiet() log.Logger { return log.NewStdLogger(io.Discard) }

func dialBackend(t *testing.T, be *backend, mw middleware.Middleware) testpb.TestServiceClient {
	t.Helper()
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet()))
	testpb.RegisterTestServiceServer(srv, be)
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithMiddleware(mw))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		_ = srv.Stop(context.Background())
		<-done
	})
	return testpb.NewTestServiceClient(cc)
}

func TestGRPCRatioOpensFailsFastAndCloses(t *testing.T) {
	c := &clock{}
	var transitions []string
	be := &backend{}
	client := dialBackend(t, be, circuitbreaker.Client(
		circuitbreaker.WithCommandName("user.service"),
		circuitbreaker.WithTimeout(5*time.Second),
		circuitbreaker.WithMaxRequests(10),
		circuitbreaker.WithInterval(60*time.Second),
		circuitbreaker.WithFailureRatio(0.6),
		circuitbreaker.WithClock(c.now),
		circuitbreaker.WithStateChange(func(name string, from, to breaker.State) {
			transitions = append(transitions, fmt.Sprintf("%s:%v>%v", name, from, to))
		})))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call := func() error {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true))
		return err
	}
	for range 5 {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	be.broken.Store(true)
	for range 40 {
		_ = call()
	}
	if hits := be.hits.Load(); hits != 20 {
		t.Fatalf("backend saw %d calls, want 20: the breaker opens at 15 failures of 20", hits)
	}
	if err := call(); !errors.IsServiceUnavailable(err) || errors.Reason(err) != circuitbreaker.Reason {
		t.Fatalf("open breaker: err = %v, want 503 CIRCUITBREAKER", err)
	}
	if be.hits.Load() != 20 {
		t.Fatal("an open breaker sent a call")
	}
	// The backend heals; after the timeout the probes close the breaker.
	be.broken.Store(false)
	c.advance(5 * time.Second)
	for i := range 10 {
		if err := call(); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
	}
	if err := call(); err != nil {
		t.Fatalf("after the probes: %v, want a closed breaker", err)
	}
	want := []string{"user.service:closed>open", "user.service:open>half-open", "user.service:half-open>closed"}
	if fmt.Sprint(transitions) != fmt.Sprint(want) {
		t.Fatalf("transitions = %v, want %v", transitions, want)
	}
}

func TestGRPCBusinessErrorsNeverTrip(t *testing.T) {
	var calls atomic.Int64
	notFound := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			calls.Add(1)
			return nil, errors.NotFound("USER_NOT_FOUND", "no")
		}
	}
	h := middleware.Chain(circuitbreaker.Client(circuitbreaker.WithFailureRatio(0.1), circuitbreaker.WithMinRequests(1)), notFound)(nil)
	for range 100 {
		if _, err := h(context.Background(), nil); !errors.IsNotFound(err) {
			t.Fatalf("err = %v: the breaker opened on business errors", err)
		}
	}
	if calls.Load() != 100 {
		t.Fatalf("%d calls reached the backend, want 100", calls.Load())
	}
}

func TestSREDefaultOverHTTP(t *testing.T) {
	c := &clock{}
	var hits, broken atomic.Int64
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := http.NewServer(http.Listener(lis), http.Logger(quiet()))
	srv.Route("/").GET("/v1/users/{id}", func(ctx http.Context) error {
		hits.Add(1)
		if broken.Load() == 1 {
			return errors.InternalServer("BOOM", "boom")
		}
		return ctx.Result(200, map[string]string{"id": ctx.Vars().Get("id")})
	})
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	defer func() {
		_ = srv.Stop(context.Background())
		<-done
	}()
	cl, err := http.NewClient(context.Background(), http.WithEndpoint("http://"+lis.Addr().String()),
		http.WithMiddleware(circuitbreaker.Client(circuitbreaker.WithClock(c.now), circuitbreaker.WithInterval(10*time.Second))))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	call := func() error {
		var out map[string]string
		return cl.Invoke(context.Background(), "GET", "/v1/users/1", nil, &out, http.PathTemplate("/v1/users/{id}"))
	}
	broken.Store(1)
	rejected := 0
	for range 300 {
		if err := call(); errors.Reason(err) == circuitbreaker.Reason {
			rejected++
		}
		c.advance(10 * time.Millisecond)
	}
	if rejected < 100 {
		t.Fatalf("the adaptive breaker rejected only %d of 300 calls to a dead backend", rejected)
	}
	if int(hits.Load())+rejected != 300 {
		t.Fatalf("hits %d + rejected %d != 300", hits.Load(), rejected)
	}
	// Healed: within two windows every call passes.
	broken.Store(0)
	late := 0
	for i := range 2000 {
		if err := call(); err != nil && i >= 1000 {
			late++
		}
		c.advance(10 * time.Millisecond)
	}
	if late != 0 {
		t.Fatalf("%d calls failed in the second window after the backend healed", late)
	}
}

func TestFallbackAndCustomBreaker(t *testing.T) {
	open := alwaysOpen{}
	h := circuitbreaker.Client(
		circuitbreaker.WithBreaker(func(string) breaker.Breaker { return open }),
		circuitbreaker.WithFallback(func(_ context.Context, req any, err error) (any, error) {
			if !errors.Is(err, circuitbreaker.ErrNotAllowed) {
				t.Errorf("fallback got %v", err)
			}
			return "cached", nil
		}))(func(context.Context, any) (any, error) {
		t.Fatal("an open breaker called the handler")
		return nil, nil
	})
	if reply, err := h(context.Background(), nil); reply != "cached" || err != nil {
		t.Fatalf("reply, err = %v, %v; want the fallback", reply, err)
	}
}

type alwaysOpen struct{}

func (alwaysOpen) Allow() (breaker.Ticket, error) { return breaker.Ticket{}, breaker.ErrOpen }
func (alwaysOpen) Success(breaker.Ticket)         {}
func (alwaysOpen) Failure(breaker.Ticket)         {}
func (alwaysOpen) State() breaker.State           { return breaker.Open }

func TestPerOperationBreakers(t *testing.T) {
	// Without a command name, a failing operation does not open the breaker
	// of another.
	var names []string
	mw := circuitbreaker.Client(circuitbreaker.WithBreaker(func(name string) breaker.Breaker {
		names = append(names, name)
		return breaker.NewSRE()
	}))
	h := mw(func(context.Context, any) (any, error) { return nil, nil })
	for range 3 {
		_, _ = h(context.Background(), nil)
	}
	if len(names) != 1 {
		t.Fatalf("breakers made = %v, want one for the operation", names)
	}
}

func BenchmarkClient(b *testing.B) {
	h := circuitbreaker.Client()(func(context.Context, any) (any, error) { return nil, nil })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = h(ctx, nil)
	}
}
