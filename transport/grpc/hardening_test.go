package grpc_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/logging"
	mdmw "github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/middleware/recovery"
	"github.com/zelos-go/zelos/middleware/timeout"
	"github.com/zelos-go/zelos/middleware/validate"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/grpc"
)

// wantStatus checks that err is a gRPC status with code and, if reason is
// not empty, an ErrorInfo of that reason.
func wantStatus(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("error = %v, want code %v", err, code)
	}
	if reason != "" {
		if got := errors.Reason(err); got != reason {
			t.Errorf("reason = %q, want %q (error %v)", got, reason, err)
		}
	}
}

// TestStreamPanicWithScaffoldMiddleware builds servers the way the `zelos
// new` scaffold and examples/helloworld do, with recovery given only to
// grpc.Middleware, and checks that a panicking stream handler fails its
// stream with Internal/PANIC while the server keeps serving.
func TestStreamPanicWithScaffoldMiddleware(t *testing.T) {
	logger := log.NewStdLogger(io.Discard)
	setups := []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"scaffold", []grpc.ServerOption{
			// cmd/zelos/internal/project/template/internal/server/grpc.go.tmpl;
			// recovery logs to log.DefaultLogger there.
			grpc.Middleware(
				recovery.Recovery(),
				logging.Server(logger),
			),
		}},
		{"helloworld", []grpc.ServerOption{
			// examples/helloworld/server.go
			grpc.Timeout(time.Second),
			grpc.Middleware(
				recovery.Recovery(recovery.WithLogger(logger)),
				logging.Server(logger),
				mdmw.Server(),
				validate.Validator(),
				func(next middleware.Handler) middleware.Handler {
					return func(ctx context.Context, req any) (any, error) {
						if tr, ok := transport.FromServerContext(ctx); ok {
							tr.ReplyHeader().Set("x-instance", "i1")
						}
						return next(ctx, req)
					}
				},
			),
		}},
	}
	for _, setup := range setups {
		t.Run(setup.name, func(t *testing.T) {
			_, ep := startServer(t, newTestService("a"), setup.opts...)
			client := testpb.NewTestServiceClient(rawDial(t, ep))
			ctx := testCtx(t)

			st, err := client.FullDuplexCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: payload("panic")}); err != nil {
				t.Fatal(err)
			}
			_, err = st.Recv()
			wantStatus(t, err, codes.Internal, recovery.Reason)

			// The process, and so the server, is still there.
			if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("ok")}); err != nil {
				t.Errorf("unary call after the stream panic: %v", err)
			}
		})
	}
}

// TestMiddlewareCoversStreams checks the documented order: Middleware runs
// around unary and stream handlers, UnaryMiddleware and StreamMiddleware
// inside it for their kind only.
func TestMiddlewareCoversStreams(t *testing.T) {
	rec := &recorder{}
	_, ep := startServer(t, newTestService("a"),
		grpc.Middleware(rec.mw("all", true)),
		grpc.UnaryMiddleware(rec.mw("unary", true)),
		grpc.StreamMiddleware(rec.mw("stream", true)),
	)
	client := testpb.NewTestServiceClient(rawDial(t, ep))
	ctx := testCtx(t)
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	st, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.CloseSend()
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
	const unary, bidi = "/grpc.testing.TestService/UnaryCall", "/grpc.testing.TestService/FullDuplexCall"
	want := []string{
		"all:grpc " + unary + " ", "unary:grpc " + unary + " ", "unary:after", "all:after",
		"all:grpc " + bidi + " ", "stream:grpc " + bidi + " ", "stream:after", "all:after",
	}
	if got := rec.entries(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("middleware runs:\n got %q\nwant %q", got, want)
	}
}

// TestUnaryMiddlewareLeavesStreamsUnbounded checks the use UnaryMiddleware
// is documented for: a timeout that must not cut long streams.
func TestUnaryMiddlewareLeavesStreamsUnbounded(t *testing.T) {
	_, ep := startServer(t, newTestService("a"), grpc.UnaryMiddleware(timeout.Server(time.Millisecond)))
	client := testpb.NewTestServiceClient(rawDial(t, ep))
	ctx := testCtx(t)
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("block")})
	wantStatus(t, err, codes.DeadlineExceeded, "")

	st, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: payload("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Errorf("stream after the unary timeout: %v", err)
	}
	_ = st.CloseSend()
}

// chatService is the tutorial's chat handler: it returns Recv's error as
// is, io.EOF included, when the client closes its side.
type chatService struct {
	testpb.UnimplementedTestServiceServer
}

func (chatService) FullDuplexCall(ss ggrpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		in, err := ss.Recv()
		if err != nil {
			return err
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: in.GetPayload()}); err != nil {
			return err
		}
	}
}

func (chatService) StreamingOutputCall(*testpb.StreamingOutputCallRequest, ggrpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	return fmt.Errorf("reading: %w", io.EOF)
}

// TestStreamHandlerReturningEOF checks that io.EOF returned by a stream
// handler ends the stream with OK, and that the middleware sees no error.
func TestStreamHandlerReturningEOF(t *testing.T) {
	var mu sync.Mutex
	var seen []error
	observe := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			reply, err := next(ctx, req)
			mu.Lock()
			seen = append(seen, err)
			mu.Unlock()
			return reply, err
		}
	}
	_, ep := startServer(t, chatService{}, grpc.Middleware(observe))
	client := testpb.NewTestServiceClient(rawDial(t, ep))
	ctx := testCtx(t)

	t.Run("io.EOF", func(t *testing.T) {
		st, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: payload("hi")}); err != nil {
			t.Fatal(err)
		}
		if out, err := st.Recv(); err != nil || string(out.GetPayload().GetBody()) != "hi" {
			t.Fatalf("echo = %v, %v", out, err)
		}
		if err := st.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != io.EOF {
			t.Errorf("end of stream = %v, want io.EOF (status OK)", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0] != nil {
			t.Errorf("middleware saw %v, want one nil error", seen)
		}
	})
	t.Run("wrapped io.EOF", func(t *testing.T) {
		// As on the HTTP server's ServerStream routes.
		st, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != io.EOF {
			t.Errorf("end of stream = %v, want io.EOF (status OK)", err)
		}
	})
}

// rawCodec sends []byte messages as they are, to put malformed protobuf on
// the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

var _ encoding.CodecV2 = rawCodec{}

// malformed is a length-delimited field 1 whose length runs past the end.
var malformed = []byte{0x0a, 0x10, 0x01}

// TestMalformedMessageIsInvalidArgument sends bytes that are not a valid
// message of the method's type, on a unary call and on each kind of stream.
func TestMalformedMessageIsInvalidArgument(t *testing.T) {
	_, ep := startServer(t, newTestService("a"), grpc.Middleware(recovery.Recovery(recovery.WithLogger(quiet))))
	cc := rawDial(t, ep)
	ctx := testCtx(t)
	codec := ggrpc.ForceCodecV2(rawCodec{})
	const prefix = "/grpc.testing.TestService/"

	t.Run("unary", func(t *testing.T) {
		var out []byte
		err := cc.Invoke(ctx, prefix+"UnaryCall", malformed, &out, codec)
		wantStatus(t, err, codes.InvalidArgument, grpc.ReasonInvalidMessage)
		if msg := status.Convert(err).Message(); !strings.HasPrefix(msg, "transport/grpc: ") {
			t.Errorf("message = %q, want it prefixed transport/grpc:", msg)
		}
	})
	streams := []struct {
		method string
		desc   ggrpc.StreamDesc
	}{
		{"StreamingOutputCall", ggrpc.StreamDesc{ServerStreams: true}},
		{"StreamingInputCall", ggrpc.StreamDesc{ClientStreams: true}},
		{"FullDuplexCall", ggrpc.StreamDesc{ServerStreams: true, ClientStreams: true}},
	}
	for _, s := range streams {
		t.Run(s.method, func(t *testing.T) {
			st, err := cc.NewStream(ctx, &s.desc, prefix+s.method, codec)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.SendMsg(malformed); err != nil {
				t.Fatal(err)
			}
			_ = st.CloseSend()
			var out []byte
			err = st.RecvMsg(&out)
			wantStatus(t, err, codes.InvalidArgument, grpc.ReasonInvalidMessage)
		})
	}
	t.Run("valid message with unknown fields still works", func(t *testing.T) {
		// Field 2 (response_size) = 1, and field 1000, unknown to the
		// server, as a newer client would send.
		msg := protowire.AppendVarint(protowire.AppendTag([]byte{0x10, 0x01}, 1000, protowire.VarintType), 7)
		var out []byte
		if err := cc.Invoke(ctx, prefix+"UnaryCall", msg, &out, codec); err != nil {
			t.Errorf("valid raw message: %v", err)
		}
	})
}

// lineLogger records the msg of every line.
type lineLogger struct {
	mu   sync.Mutex
	msgs []string
}

func (l *lineLogger) Log(_ log.Level, kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "msg" {
			l.msgs = append(l.msgs, fmt.Sprint(kv[i+1]))
		}
	}
	return nil
}

func (l *lineLogger) lines() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "; ")
}

// TestStopLogsOnlyIfStarted checks that only a server that served says it
// is stopping.
func TestStopLogsOnlyIfStarted(t *testing.T) {
	t.Run("never started", func(t *testing.T) {
		l := &lineLogger{}
		srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(l))
		if _, err := srv.Endpoint(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := l.lines(); strings.Contains(got, "stopping") {
			t.Errorf("a server that never started logged %q", got)
		}
	})
	t.Run("started", func(t *testing.T) {
		l := &lineLogger{}
		srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(l))
		ep, err := srv.Endpoint()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Start(context.Background()) }()
		if _, err := testpb.NewTestServiceClient(rawDial(t, ep)).EmptyCall(testCtx(t), &testpb.Empty{}, ggrpc.WaitForReady(true)); status.Code(err) != codes.Unimplemented {
			t.Fatalf("EmptyCall = %v, want Unimplemented", err)
		}
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := l.lines(); !strings.Contains(got, "gRPC server stopping") {
			t.Errorf("a started server logged %q, want a stopping line", got)
		}
	})
}

// TestChainSeesMalformedUnary checks that middleware (an access log, the
// validate middleware) observes a malformed unary request and its 400, and
// that the service's handler never runs.
func TestChainSeesMalformedUnary(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			reply, err := next(ctx, req)
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%v %d %s", req, errors.Code(err), errors.Reason(err)))
			mu.Unlock()
			return reply, err
		}
	}
	svc := newTestService("a")
	_, ep := startServer(t, svc, grpc.Middleware(record, validate.Validator()))
	cc := rawDial(t, ep)
	var out []byte
	err := cc.Invoke(testCtx(t), "/grpc.testing.TestService/UnaryCall", malformed, &out, ggrpc.ForceCodecV2(rawCodec{}))
	wantStatus(t, err, codes.InvalidArgument, grpc.ReasonInvalidMessage)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "<malformed request message> 400 "+grpc.ReasonInvalidMessage {
		t.Fatalf("middleware saw %q, want one malformed request with 400 %s", seen, grpc.ReasonInvalidMessage)
	}
}
