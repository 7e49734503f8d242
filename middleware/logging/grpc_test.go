package logging_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/transport/grpc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type failing struct {
	testpb.UnimplementedTestServiceServer
}

func (failing) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return nil, errors.NotFound("USER_NOT_FOUND", "no user")
}

// TestOverGRPC logs a failing call on both sides of a real gRPC connection.
func TestOverGRPC(t *testing.T) {
	serverLog, clientLog := &captureLogger{}, &captureLogger{}
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(discard{}), grpc.Middleware(logging.Server(serverLog)))
	testpb.RegisterTestServiceServer(srv, failing{})
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
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithMiddleware(logging.Client(clientLog)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := testpb.NewTestServiceClient(cc).UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); !errors.IsNotFound(err) {
		t.Fatalf("error = %v, want 404", err)
	}
	for side, l := range map[string]*captureLogger{"server": serverLog, "client": clientLog} {
		recs := l.all()
		if len(recs) != 1 {
			t.Fatalf("%s: %d records, want 1", side, len(recs))
		}
		r := recs[0]
		want := map[string]any{
			"kind": side, "component": "grpc", "operation": "/grpc.testing.TestService/UnaryCall",
			"code": 404, "reason": "USER_NOT_FOUND",
		}
		for k, v := range want {
			if got, _ := r.get(k); got != v {
				t.Errorf("%s: %s = %#v, want %#v", side, k, got, v)
			}
		}
		if r.level != log.LevelError {
			t.Errorf("%s: level = %v, want ERROR", side, r.level)
		}
	}
}
