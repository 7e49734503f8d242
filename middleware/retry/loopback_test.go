package retry_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

var quiet = log.NewStdLogger(io.Discard)

// arrivals records what a backend saw of each attempt.
type arrivals struct {
	mu      sync.Mutex
	times   []time.Time
	markers []string
	bodies  []string
}

func (a *arrivals) add(ctx context.Context, body string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	tr, _ := transport.FromServerContext(ctx)
	a.times = append(a.times, time.Now())
	a.markers = append(a.markers, tr.RequestHeader().Get(retry.HeaderAttempt))
	a.bodies = append(a.bodies, body)
	return len(a.times)
}

func (a *arrivals) snapshot() ([]time.Time, []string, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.times, a.markers, a.bodies
}

// checkTimings checks the tutorial's figures: retries after about 100ms
// and 200ms. The lower bounds are exact (a sleep is never shorter); the
// upper ones leave room for a loaded CI machine.
func checkTimings(t *testing.T, a *arrivals, body string) {
	t.Helper()
	times, markers, bodies := a.snapshot()
	if len(times) != 3 {
		t.Fatalf("the backend saw %d attempts; want 3", len(times))
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		gap := times[i+1].Sub(times[i])
		if gap < want || gap > want+150*time.Millisecond {
			t.Errorf("retry %d came %v after the attempt before; want about %v", i+1, gap, want)
		}
	}
	if markers[0] != "" || markers[1] != "1" || markers[2] != "2" {
		t.Errorf("%s seen = %q; want \"\", 1, 2", retry.HeaderAttempt, markers)
	}
	for i, b := range bodies {
		if b != body {
			t.Errorf("attempt %d carried %q; want %q sent again intact", i, b, body)
		}
	}
}

// newTutorialRetry is the tutorial's retry without jitter, for exact
// bounds.
func newTutorialRetry() []retry.Option {
	return []retry.Option{retry.WithAttempts(3), retry.WithDelay(100 * time.Millisecond),
		retry.WithBackoff(retry.BackoffExponential), retry.WithJitter(0)}
}

type msg struct {
	Text string `json:"text"`
}

func startHTTP(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := http.NewServer(http.Address("127.0.0.1:0"), http.Logger(quiet))
	srv.Route("/").POST("/echo", h)
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		<-errc
	})
	return u.String()
}

func TestHTTPRetryTimings(t *testing.T) {
	var a arrivals
	addr := startHTTP(t, func(ctx http.Context) error {
		var in msg
		if err := ctx.Bind(&in); err != nil {
			return err
		}
		if a.add(ctx, in.Text) < 3 {
			return errors.ServiceUnavailable("RESTARTING", "try again")
		}
		return ctx.Result(200, &in)
	})
	c, err := http.NewClient(context.Background(), http.WithEndpoint(addr),
		http.WithMiddleware(retry.Client(newTutorialRetry()...)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out msg
	if err := c.Invoke(context.Background(), "POST", "/echo", &msg{Text: "hello, zelos"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Text != "hello, zelos" {
		t.Errorf("reply %q", out.Text)
	}
	checkTimings(t, &a, "hello, zelos")
}

// echoService fails its first calls with fail, then echoes.
type echoService struct {
	testpb.UnimplementedTestServiceServer
	a     *arrivals
	fails int
	fail  error
}

func (s *echoService) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if s.a.add(ctx, string(in.GetPayload().GetBody())) <= s.fails {
		return nil, s.fail
	}
	return &testpb.SimpleResponse{Payload: in.GetPayload()}, nil
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
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		<-errc
	})
	return u.String()
}

func TestGRPCRetryTimings(t *testing.T) {
	var a arrivals
	ep := startGRPC(t, &echoService{a: &a, fails: 2, fail: errors.ServiceUnavailable("RESTARTING", "try again")})
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep), grpc.WithMiddleware(retry.Client(newTutorialRetry()...)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	reply, err := testpb.NewTestServiceClient(cc).UnaryCall(context.Background(),
		&testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hello, zelos")}})
	if err != nil {
		t.Fatal(err)
	}
	if string(reply.GetPayload().GetBody()) != "hello, zelos" {
		t.Errorf("reply %q", reply.GetPayload().GetBody())
	}
	checkTimings(t, &a, "hello, zelos")
}

func TestGRPCNotRetried(t *testing.T) {
	var a arrivals
	ep := startGRPC(t, &echoService{a: &a, fails: 5, fail: errors.NotFound("USER_NOT_FOUND", "no such user")})
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep), grpc.WithMiddleware(retry.Client(retry.WithDelay(time.Millisecond))))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	_, err = testpb.NewTestServiceClient(cc).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if !errors.IsNotFound(err) {
		t.Fatalf("err = %v; want the 404", err)
	}
	if times, _, _ := a.snapshot(); len(times) != 1 {
		t.Errorf("a 404 was sent %d times; want 1", len(times))
	}
}

// Two instances of a service that both fail: the retry goes to the one
// the first attempt did not. Few calls, so that neither instance reaches
// the selector's outlier ejection (5 consecutive failures).
func TestRetryPicksAnotherInstance(t *testing.T) {
	unavailable := errors.ServiceUnavailable("DOWN", "down")
	t.Run("http", func(t *testing.T) {
		reg := registry.NewInMemory()
		var a, b arrivals
		for i, arr := range []*arrivals{&a, &b} {
			arr := arr
			addr := startHTTP(t, func(ctx http.Context) error { arr.add(ctx, ""); return unavailable })
			_ = reg.Register(context.Background(), &registry.ServiceInstance{ID: string(rune('a' + i)), Name: "echo", Endpoints: []string{addr}})
		}
		c, err := http.NewClient(context.Background(), http.WithEndpoint("discovery:///echo"), http.WithDiscovery(reg), http.WithBlock(),
			http.WithMiddleware(retry.Client(retry.WithAttempts(2), retry.WithDelay(time.Millisecond), retry.WithBudget(nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 3 {
			_ = c.Invoke(context.Background(), "POST", "/echo", &msg{}, nil)
		}
		ta, _, _ := a.snapshot()
		tb, _, _ := b.snapshot()
		if len(ta) != 3 || len(tb) != 3 {
			t.Errorf("instances saw %d and %d attempts of 3 calls; want 3 each (every retry on the other one)", len(ta), len(tb))
		}
	})
	t.Run("grpc", func(t *testing.T) {
		reg := registry.NewInMemory()
		var a, b arrivals
		for i, arr := range []*arrivals{&a, &b} {
			ep := startGRPC(t, &echoService{a: arr, fails: 100, fail: unavailable})
			_ = reg.Register(context.Background(), &registry.ServiceInstance{ID: string(rune('a' + i)), Name: "echo", Endpoints: []string{ep}})
		}
		cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint("discovery:///echo"), grpc.WithDiscovery(reg), grpc.WithLogger(quiet),
			grpc.WithMiddleware(retry.Client(retry.WithAttempts(2), retry.WithDelay(time.Millisecond), retry.WithBudget(nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		client := testpb.NewTestServiceClient(cc)
		// Wait until both instances are connected, so picks can choose.
		deadline := time.Now().Add(10 * time.Second)
		for {
			ta, _, _ := a.snapshot()
			tb, _, _ := b.snapshot()
			if len(ta) > 0 && len(tb) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the two instances never both got a call")
			}
			_, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		}
		// Let grpc-go publish the picker over both READY connections.
		time.Sleep(100 * time.Millisecond)
		ta, _, _ := a.snapshot()
		tb, _, _ := b.snapshot()
		base := len(ta) + len(tb)
		for range 2 {
			_, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		}
		ta2, _, _ := a.snapshot()
		tb2, _, _ := b.snapshot()
		if da, db := len(ta2)-len(ta), len(tb2)-len(tb); da != 2 || db != 2 {
			t.Errorf("instances saw %d and %d attempts of 2 calls (after %d warm-up attempts); want 2 each", da, db, base)
		}
	})
}
