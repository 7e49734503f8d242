package grpc_test

import (
	"context"
	"fmt"
	"io"
	"time"

	ggrpc "google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/recovery"
	"github.com/zelos-go/zelos/middleware/timeout"
	"github.com/zelos-go/zelos/transport/grpc"
)

// users is a service whose every call fails with a Zelos error.
type users struct {
	testpb.UnimplementedTestServiceServer
}

func (users) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return nil, errors.NotFound("USER_NOT_FOUND", "user 42 not found")
}

func ExampleNewServer() {
	logger := log.NewStdLogger(io.Discard)
	srv := grpc.NewServer(
		grpc.Address("127.0.0.1:0"),
		grpc.Middleware(recovery.Recovery(), logging.Server(logger)),
		grpc.Logger(logger),
	)
	testpb.RegisterTestServiceServer(srv, users{}) // generated RegisterXxxServer functions take the Server
	ep, _ := srv.Endpoint()                        // grpc://127.0.0.1:<port>, bound before Start
	go func() { _ = srv.Start(context.Background()) }()
	defer srv.Stop(context.Background())

	cc, _ := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()))
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			fmt.Println(err)
			return
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING { // once Start has run
			fmt.Println(resp.GetStatus())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output: SERVING
}

func ExampleDialInsecure() {
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)))
	testpb.RegisterTestServiceServer(srv, users{})
	ep, _ := srv.Endpoint()
	go func() { _ = srv.Start(context.Background()) }()
	defer srv.Stop(context.Background())

	// With a registry, the endpoint would be "discovery:///user.service" and
	// the options grpc.WithDiscovery(r), grpc.WithSelector(sl).
	cc, err := grpc.DialInsecure(context.Background(),
		grpc.WithEndpoint(ep.String()),
		grpc.WithTimeout(5*time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Close()

	_, err = testpb.NewTestServiceClient(cc).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	fmt.Println(errors.IsNotFound(err), errors.Reason(err))
	// Output: true USER_NOT_FOUND
}

// chat is a streaming service whose handler panics.
type chat struct {
	testpb.UnimplementedTestServiceServer
}

func (chat) FullDuplexCall(ggrpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	panic("nil map")
}

// Middleware runs around stream handlers too, so recovery given there also
// recovers a panicking stream; a timeout meant for unary calls only goes in
// UnaryMiddleware, where it cannot cut long streams.
func ExampleMiddleware() {
	logger := log.NewStdLogger(io.Discard)
	srv := grpc.NewServer(
		grpc.Address("127.0.0.1:0"),
		grpc.Logger(logger),
		grpc.Middleware(recovery.Recovery(recovery.WithLogger(logger)), logging.Server(logger)),
		grpc.UnaryMiddleware(timeout.Server(5*time.Second)),
	)
	testpb.RegisterTestServiceServer(srv, chat{})
	ep, _ := srv.Endpoint()
	go func() { _ = srv.Start(context.Background()) }()
	defer srv.Stop(context.Background())

	cc, _ := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()))
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := testpb.NewTestServiceClient(cc).FullDuplexCall(ctx, ggrpc.WaitForReady(true))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = stream.Recv()
	fmt.Println(errors.Code(err), errors.Reason(err))
	// Output: 500 PANIC
}
