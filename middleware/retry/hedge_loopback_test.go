package retry_test

import (
	"context"
	nethttp "net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

// slowFirst makes the first call wait until it is canceled (reporting it on
// canceled), and answers the others at once.
type slowFirst struct {
	calls    atomic.Int32
	canceled chan struct{}
}

func newSlowFirst() *slowFirst { return &slowFirst{canceled: make(chan struct{})} }

// serve returns the attempt's number (from 1), after waiting on ctx for the
// first.
func (s *slowFirst) serve(ctx context.Context) int {
	n := int(s.calls.Add(1))
	if n == 1 {
		select {
		case <-ctx.Done():
			close(s.canceled)
		case <-time.After(10 * time.Second):
		}
	}
	return n
}

func (s *slowFirst) check(t *testing.T, start time.Time) {
	t.Helper()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the hedged call took %v; want the backup's quick reply", d)
	}
	select {
	case <-s.canceled:
	case <-time.After(5 * time.Second):
		t.Error("the slow first attempt was not canceled")
	}
}

var hedge = retry.Client(retry.WithHedge(50*time.Millisecond), retry.WithBudget(nil))

func TestHedgeHTTP(t *testing.T) {
	s := newSlowFirst()
	addr := startHTTP(t, func(ctx http.Context) error {
		var in msg
		if err := ctx.Bind(&in); err != nil {
			return err
		}
		if s.serve(ctx) == 1 {
			return ctx.Result(200, &msg{Text: "slow"})
		}
		ctx.Response().Header().Set("X-Attempt", ctx.Header().Get(retry.HeaderAttempt))
		return ctx.Result(200, &msg{Text: "backup: " + in.Text})
	})
	c, err := http.NewClient(context.Background(), http.WithEndpoint(addr), http.WithMiddleware(hedge))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out msg
	start := time.Now()
	var hdr nethttp.Header
	if err := c.Invoke(context.Background(), "POST", "/echo", &msg{Text: "hi"}, &out, http.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if out.Text != "backup: hi" {
		t.Errorf("reply %q; want the backup's, with the body sent again", out.Text)
	}
	if got := hdr.Get("X-Attempt"); got != "1" {
		t.Errorf("the winner's reply header X-Attempt = %q; want 1 (the backup's)", got)
	}
	s.check(t, start)
}

type hedgeEcho struct {
	testpb.UnimplementedTestServiceServer
	s *slowFirst
}

func (h *hedgeEcho) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if h.s.serve(ctx) == 1 {
		return &testpb.SimpleResponse{Username: "slow"}, nil
	}
	user := metadata.ValueFromIncomingContext(ctx, "x-user")
	return &testpb.SimpleResponse{Username: "backup " + strings.Join(user, ","), Payload: in.GetPayload()}, nil
}

func TestHedgeGRPC(t *testing.T) {
	s := newSlowFirst()
	ep := startGRPC(t, &hedgeEcho{s: s})
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep), grpc.WithMiddleware(hedge))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	start := time.Now()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user", "ann")
	reply, err := testpb.NewTestServiceClient(cc).UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if reply.GetUsername() != "backup ann" || string(reply.GetPayload().GetBody()) != "hi" {
		t.Errorf("reply %v; want the backup's echo, with the caller's metadata", reply)
	}
	s.check(t, start)
}
