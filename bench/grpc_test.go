package bench

import (
	"context"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"io"
	"net"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/middleware/recovery"
	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

// echoService answers UnaryCall with the request's payload.
type echoService struct {
	testpb.UnimplementedTestServiceServer
}

func (echoService) UnaryCall(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: in.GetPayload()}, nil
}

// BenchmarkGRPC measures a unary echo over a loopback TCP connection, client
// and server in this process (so allocations are those of both sides):
//   - raw: grpc-go server and client without interceptors;
//   - zelos-recovery-metadata: Zelos server and client with recovery and
//     metadata middleware on both sides;
//   - zelos-recovery-metadata-logging: the same plus logging to
//     log.NewStdLogger(io.Discard) on both sides.
func BenchmarkGRPC(b *testing.B) {
	discard := log.NewStdLogger(io.Discard)
	b.Run("raw", func(b *testing.B) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := ggrpc.NewServer()
		testpb.RegisterTestServiceServer(srv, echoService{})
		go func() { _ = srv.Serve(lis) }()
		defer srv.Stop()
		cc, err := ggrpc.NewClient(lis.Addr().String(), ggrpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		runEcho(b, cc)
	})
	zelos := func(server, client []middleware.Middleware, opts ...grpc.ServerOption) func(b *testing.B) {
		return func(b *testing.B) {
			opts = append([]grpc.ServerOption{grpc.Address("127.0.0.1:0"), grpc.Logger(discard), grpc.Middleware(server...)}, opts...)
			srv := grpc.NewServer(opts...)
			testpb.RegisterTestServiceServer(srv, echoService{})
			ep, err := srv.Endpoint()
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = srv.Start(context.Background()) }()
			defer srv.Stop(context.Background())
			cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithMiddleware(client...))
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			runEcho(b, cc)
		}
	}
	// Without middleware, with and without a 1s server timeout: the
	// timeout's own cost (issue 9: at most 2 allocs; the Zelos server within
	// 5 allocs of raw with it).
	b.Run("zelos-bare", zelos(nil, nil))
	b.Run("zelos-timeout-1s", zelos(nil, nil, grpc.Timeout(time.Second)))
	b.Run("zelos-recovery-metadata", zelos(
		[]middleware.Middleware{recovery.Recovery(recovery.WithLogger(discard)), metadata.Server()},
		[]middleware.Middleware{recovery.Recovery(recovery.WithLogger(discard)), metadata.Client()},
	))
	b.Run("zelos-recovery-metadata-logging", zelos(
		[]middleware.Middleware{recovery.Recovery(recovery.WithLogger(discard)), metadata.Server(), logging.Server(discard)},
		[]middleware.Middleware{recovery.Recovery(recovery.WithLogger(discard)), metadata.Client(), logging.Client(discard)},
	))
	// Observability (issue 10), on the server and the client, beside
	// recovery+metadata.
	noopTP, sdkTP, mp := tracenoop.NewTracerProvider(), sdkTracer(), promMeter()
	b.Run("zelos-recovery-metadata-tracing-noop", zelos(
		append(observed(), tracing.Server(tracing.WithTracerProvider(noopTP))),
		append(observedClient(), tracing.Client(tracing.WithTracerProvider(noopTP))),
	))
	b.Run("zelos-recovery-metadata-tracing-sdk", zelos(
		append(observed(), tracing.Server(tracing.WithTracerProvider(sdkTP))),
		append(observedClient(), tracing.Client(tracing.WithTracerProvider(sdkTP))),
	))
	b.Run("zelos-recovery-metadata-metrics-prometheus", zelos(
		append(observed(), metrics.Server(metrics.WithMeterProvider(mp))),
		append(observedClient(), metrics.Client(metrics.WithMeterProvider(mp))),
	))
}

func runEcho(b *testing.B, cc *ggrpc.ClientConn) {
	client := testpb.NewTestServiceClient(cc)
	ctx := context.Background()
	req := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hello, zelos")}}
	// Connect before timing.
	if _, err := client.UnaryCall(ctx, req, ggrpc.WaitForReady(true)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := client.UnaryCall(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRetryOverhead measures the retry middleware on calls that
// succeed first time: the unary echo of BenchmarkGRPC with no other
// middleware, with and without retry.Client() on the client (issue 9: at
// most 1 alloc more).
func BenchmarkRetryOverhead(b *testing.B) {
	for _, tc := range []struct {
		name string
		ms   []middleware.Middleware
	}{
		{"grpc/none", nil},
		{"grpc/retry", []middleware.Middleware{retry.Client()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)))
			testpb.RegisterTestServiceServer(srv, echoService{})
			ep, err := srv.Endpoint()
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = srv.Start(context.Background()) }()
			defer srv.Stop(context.Background())
			cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithMiddleware(tc.ms...))
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			runEcho(b, cc)
		})
	}
	for _, tc := range []struct {
		name string
		ms   []middleware.Middleware
	}{
		{"http/none", nil},
		{"http/retry", []middleware.Middleware{retry.Client()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := http.NewServer(http.Address("127.0.0.1:0"), http.Logger(log.NewStdLogger(io.Discard)))
			srv.Route("/").GET("/hello/{name}", func(ctx http.Context) error {
				reply := helloReply{Message: "Hello " + ctx.PathValue("name")}
				return ctx.Result(200, &reply)
			})
			ep, err := srv.Endpoint()
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = srv.Start(context.Background()) }()
			defer srv.Stop(context.Background())
			c, err := http.NewClient(context.Background(), http.WithEndpoint(ep.String()), http.WithMiddleware(tc.ms...))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			var out helloReply
			if err := c.Invoke(ctx, "GET", "/hello/zelos", nil, &out); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Invoke(ctx, "GET", "/hello/zelos", nil, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
