package otlp_test

import (
	"context"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

type streamer struct {
	testpb.UnimplementedTestServiceServer
}

func (streamer) FullDuplexCall(s ggrpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		if _, err := s.Recv(); err != nil {
			return err // io.EOF is a normal end
		}
		if err := s.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// TestStreamsAndGeneratedRoutes traces a bidirectional gRPC stream (the
// server span covers the whole stream; the client span, from stream
// middleware, covers opening it and carries the trace to the server) and
// an HTTP route registered as generated code registers it (http.Unary).
func TestStreamsAndGeneratedRoutes(t *testing.T) {
	col := newCollector(t)
	tp := provider(t, col, "svc")
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)), grpc.Middleware(tracing.Server(tracing.WithTracerProvider(tp))))
	testpb.RegisterTestServiceServer(srv, streamer{})
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithStreamMiddleware(tracing.Client(tracing.WithTracerProvider(tp))))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := testpb.NewTestServiceClient(cc).FullDuplexCall(ctx, ggrpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := stream.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	_ = stream.CloseSend()
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := http.NewServer(http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard)), http.Middleware(tracing.Server(tracing.WithTracerProvider(tp))))
	http.Unary(hs.Route("/"), "POST", "/v1/greet/{name}", "/helloworld.v1.Greeter/SayHello",
		func(_ context.Context, in *struct {
			Name string `json:"name"`
		}) (*struct {
			Message string `json:"message"`
		}, error) {
			return &struct {
				Message string `json:"message"`
			}{"hello " + in.Name}, nil
		})
	serve(t, hs)
	res, err := nethttp.Post("http://"+lis.Addr().String()+"/v1/greet/zelos", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	flush(t, tp)
	spans := col.wait(t, 3)
	var client, server, route *span
	for _, s := range spans {
		switch {
		case s.Name == "/grpc.testing.TestService/FullDuplexCall" && s.Kind.String() == "SPAN_KIND_CLIENT":
			client = s
		case s.Name == "/grpc.testing.TestService/FullDuplexCall":
			server = s
		case s.Name == "/helloworld.v1.Greeter/SayHello":
			route = s
		}
	}
	if client == nil || server == nil || route == nil {
		t.Fatalf("spans: %v", spans)
	}
	if server.parentID() != client.spanID() || server.traceID() != client.traceID() {
		t.Fatalf("the stream's server span does not continue the client's trace")
	}
	if server.attr("rpc.response.status_code") != "OK" {
		t.Errorf("stream status = %q", server.attr("rpc.response.status_code"))
	}
	// The server span covers the stream, so it ends after the client's
	// span, which covers opening the stream only.
	if server.EndTimeUnixNano <= client.EndTimeUnixNano {
		t.Errorf("server stream span ended before the stream was opened")
	}
	if route.attr("http.route") != "/v1/greet/{name}" || route.attr("http.request.method") != "POST" || route.attr("http.response.status_code") != "200" {
		t.Errorf("generated route span: %v", route.Attributes)
	}
}
