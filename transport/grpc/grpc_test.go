package grpc_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	gmd "google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/metadata"
	"github.com/zelos-go/zelos/middleware"
	mdmw "github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/middleware/recovery"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/grpc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// quiet is the logger of test servers and clients.
var quiet = log.NewStdLogger(io.Discard)

// testService implements grpc.testing.TestService:
//   - UnaryCall echoes the payload; bodies "notfound", "plain", "panic",
//     "block" and "code:N" trigger errors, a panic, waiting for release,
//     and an error with code N.
//   - StreamingOutputCall sends ResponseParameters-many replies, each
//     carrying the server metadata value of x-md-global-user.
//   - StreamingInputCall sums the payload sizes.
//   - FullDuplexCall echoes every request's payload.
type testService struct {
	testpb.UnimplementedTestServiceServer
	name    string
	started chan struct{} // receives when a "block" call starts
	release chan struct{} // closed to release "block" calls

	mu    sync.Mutex
	calls int
}

func newTestService(name string) *testService {
	return &testService{name: name, started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (s *testService) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *testService) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	body := string(in.GetPayload().GetBody())
	switch {
	case body == "notfound":
		return nil, errors.NotFound("USER_NOT_FOUND", "user 42 not found").WithMetadata(map[string]string{"id": "42"})
	case body == "plain":
		return nil, fmt.Errorf("secret database failure")
	case body == "panic":
		panic("boom")
	case body == "block":
		s.started <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case strings.HasPrefix(body, "code:"):
		code, _ := strconv.Atoi(strings.TrimPrefix(body, "code:"))
		return nil, errors.New(code, "CUSTOM", "custom code")
	case body == "md":
		md, _ := metadata.FromServerContext(ctx)
		body = md.Get("x-md-global-user") + "," + md.Get("x-md-local-hop")
	case body == "deadline":
		dl, ok := ctx.Deadline()
		body = fmt.Sprint(ok && time.Until(dl) <= time.Minute)
	case body == "name":
		body = s.name
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: []byte(body)}}, nil
}

func (s *testService) StreamingOutputCall(in *testpb.StreamingOutputCallRequest, ss ggrpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	md, _ := metadata.FromServerContext(ss.Context())
	for range in.GetResponseParameters() {
		body := []byte(md.Get("x-md-global-user"))
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: body}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testService) StreamingInputCall(ss ggrpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	total := 0
	for {
		in, err := ss.Recv()
		if err == io.EOF {
			return ss.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		if string(in.GetPayload().GetBody()) == "fail" {
			return errors.Forbidden("NO_FAIL", "fail is forbidden")
		}
		total += len(in.GetPayload().GetBody())
	}
}

func (s *testService) FullDuplexCall(ss ggrpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		in, err := ss.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if string(in.GetPayload().GetBody()) == "panic" {
			panic("stream boom")
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: in.GetPayload()}); err != nil {
			return err
		}
	}
}

// startServer starts a server with svc on 127.0.0.1:0 and returns it and its
// endpoint. The server is stopped at the end of the test.
func startServer(t *testing.T, svc testpb.TestServiceServer, opts ...grpc.ServerOption) (*grpc.Server, *url.URL) {
	t.Helper()
	opts = append([]grpc.ServerOption{grpc.Address("127.0.0.1:0"), grpc.Logger(quiet)}, opts...)
	srv := grpc.NewServer(opts...)
	if svc != nil {
		testpb.RegisterTestServiceServer(srv, svc)
	}
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return srv, ep
}

// dial returns a Zelos client connection to ep, closed at the end of the
// test.
func dial(t *testing.T, ep *url.URL, opts ...grpc.ClientOption) *ggrpc.ClientConn {
	t.Helper()
	opts = append([]grpc.ClientOption{grpc.WithEndpoint(ep.String()), grpc.WithLogger(quiet)}, opts...)
	cc, err := grpc.DialInsecure(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// rawDial returns a plain grpc-go connection to ep.
func rawDial(t *testing.T, ep *url.URL) *ggrpc.ClientConn {
	t.Helper()
	cc, err := ggrpc.NewClient(ep.Host, ggrpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func payload(s string) *testpb.Payload { return &testpb.Payload{Body: []byte(s)} }

// recorder is middleware appending name to a shared log, and the
// Transporter it saw.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func (r *recorder) entries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func (r *recorder) mw(name string, server bool) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			from := transport.FromClientContext
			if server {
				from = transport.FromServerContext
			}
			tr, ok := from(ctx)
			if !ok {
				r.add(name + ":no transporter")
				return next(ctx, req)
			}
			r.add(fmt.Sprintf("%s:%s %s %s", name, tr.Kind(), tr.Operation(), tr.RequestHeader().Get("x-md-global-user")))
			reply, err := next(ctx, req)
			r.add(name + ":after")
			return reply, err
		}
	}
}

func TestUnary(t *testing.T) {
	rec := &recorder{}
	replyHeader := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, _ := transport.FromServerContext(ctx)
			tr.ReplyHeader().Set("x-served-by", "zelos")
			return next(ctx, req)
		}
	}
	_, ep := startServer(t, newTestService("a"), grpc.Middleware(rec.mw("s1", true), rec.mw("s2", true), mdmw.Server(), replyHeader))

	var clientReply string
	readReply := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, _ := transport.FromClientContext(ctx)
			rh := tr.ReplyHeader() // before the call, to have it received
			reply, err := next(ctx, req)
			clientReply = rh.Get("x-served-by")
			if tr.Endpoint() != ep.String() {
				t.Errorf("client Endpoint() = %q, want %q", tr.Endpoint(), ep)
			}
			return reply, err
		}
	}
	cc := dial(t, ep, grpc.WithMiddleware(readReply, rec.mw("c1", false), mdmw.Client()))
	client := testpb.NewTestServiceClient(cc)

	ctx := metadata.AppendToClientContext(testCtx(t), "x-md-global-user", "alice", "x-md-local-hop", "one")
	var header gmd.MD
	out, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("md")}, ggrpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out.GetPayload().GetBody()); got != "alice,one" {
		t.Errorf("server metadata = %q, want alice,one", got)
	}
	const op = "/grpc.testing.TestService/UnaryCall"
	want := []string{
		"c1:grpc " + op + " ", // before metadata.Client ran
		"s1:grpc " + op + " alice",
		"s2:grpc " + op + " alice",
		"s2:after",
		"s1:after",
		"c1:after",
	}
	if got := rec.entries(); !slices.Equal(got, want) {
		t.Errorf("middleware order:\n got %q\nwant %q", got, want)
	}
	if clientReply != "zelos" {
		t.Errorf("client ReplyHeader x-served-by = %q, want zelos", clientReply)
	}
	if got := header.Get("x-served-by"); len(got) != 1 || got[0] != "zelos" {
		t.Errorf("grpc.Header x-served-by = %q, want [zelos]", got)
	}
}

func TestErrorRoundTrip(t *testing.T) {
	_, ep := startServer(t, newTestService("a"), grpc.Middleware(recovery.Recovery(recovery.WithLogger(quiet))))
	client := testpb.NewTestServiceClient(dial(t, ep))
	raw := testpb.NewTestServiceClient(rawDial(t, ep))
	ctx := testCtx(t)

	tests := []struct {
		body     string
		want     *errors.Error
		wantCode codes.Code
	}{
		{"notfound", errors.NotFound("USER_NOT_FOUND", "user 42 not found").WithMetadata(map[string]string{"id": "42"}), codes.NotFound},
		{"plain", errors.New(500, errors.UnknownReason, "internal server error"), codes.Internal},
		{"panic", errors.InternalServer(recovery.Reason, "internal server error"), codes.Internal},
		{"code:418", errors.New(418, "CUSTOM", "custom code"), codes.FailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload(tt.body)})
			var got *errors.Error
			if !errors.As(err, &got) {
				t.Fatalf("Zelos client error %T %v is not an *errors.Error", err, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Zelos client error = %v, want %v", got, tt.want)
			}
			if strings.Contains(got.Message, "secret") {
				t.Errorf("message leaks the plain error: %q", got.Message)
			}

			_, err = raw.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload(tt.body)})
			st, _ := status.FromError(err)
			if st.Code() != tt.wantCode {
				t.Errorf("raw client code = %v, want %v", st.Code(), tt.wantCode)
			}
			if got := errors.FromError(err); !got.Equal(tt.want) {
				t.Errorf("raw client error converted = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStreams(t *testing.T) {
	rec := &recorder{}
	_, ep := startServer(t, newTestService("a"),
		grpc.StreamMiddleware(recovery.Recovery(recovery.WithLogger(quiet)), rec.mw("s", true), mdmw.Server()))
	cc := dial(t, ep, grpc.WithStreamMiddleware(rec.mw("c", false), mdmw.Client()))
	client := testpb.NewTestServiceClient(cc)
	ctx := metadata.AppendToClientContext(testCtx(t), "x-md-global-user", "bob")

	t.Run("server", func(t *testing.T) {
		st, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
			ResponseParameters: make([]*testpb.ResponseParameters, 3),
		})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			out, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			if got := string(out.GetPayload().GetBody()); got != "bob" {
				t.Errorf("stream ctx metadata = %q, want bob", got)
			}
		}
		if n != 3 {
			t.Errorf("got %d replies, want 3", n)
		}
	})
	t.Run("client", func(t *testing.T) {
		st, err := client.StreamingInputCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"ab", "cde"} {
			if err := st.Send(&testpb.StreamingInputCallRequest{Payload: payload(s)}); err != nil {
				t.Fatal(err)
			}
		}
		out, err := st.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		if out.GetAggregatedPayloadSize() != 5 {
			t.Errorf("size = %d, want 5", out.GetAggregatedPayloadSize())
		}

		// A handler error arrives as an *errors.Error.
		st, err = client.StreamingInputCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = st.Send(&testpb.StreamingInputCallRequest{Payload: payload("fail")})
		_, err = st.CloseAndRecv()
		if !errors.IsForbidden(err) || errors.Reason(err) != "NO_FAIL" {
			t.Errorf("error = %v, want 403 NO_FAIL", err)
		}
	})
	t.Run("bidi", func(t *testing.T) {
		st, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"x", "y"} {
			if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: payload(s)}); err != nil {
				t.Fatal(err)
			}
			out, err := st.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out.GetPayload().GetBody()); got != s {
				t.Errorf("echo = %q, want %q", got, s)
			}
		}
		// A panic in the handler is recovered by the stream middleware.
		if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: payload("panic")}); err != nil {
			t.Fatal(err)
		}
		_, err = st.Recv()
		if errors.Code(err) != 500 || errors.Reason(err) != recovery.Reason {
			t.Errorf("error = %v, want 500 PANIC", err)
		}
	})

	const prefix = "/grpc.testing.TestService/"
	for _, m := range []string{"StreamingOutputCall", "StreamingInputCall", "FullDuplexCall"} {
		for _, want := range []string{"c:grpc " + prefix + m + " ", "s:grpc " + prefix + m + " bob"} {
			if !slices.Contains(rec.entries(), want) {
				t.Errorf("stream middleware did not record %q; got %q", want, rec.entries())
			}
		}
	}
}

func TestHealthFollowsLifecycle(t *testing.T) {
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet))
	testpb.RegisterTestServiceServer(srv, newTestService("a"))
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()

	health := healthpb.NewHealthClient(rawDial(t, ep))
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var resp *healthpb.HealthCheckResponse
	for { // Start may not have marked it serving yet.
		resp, err = health.Check(ctx, &healthpb.HealthCheckRequest{}, ggrpc.WaitForReady(true))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err = health.Check(ctx, &healthpb.HealthCheckRequest{Service: "grpc.testing.TestService"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("service health = %v, %v; want SERVING", resp.GetStatus(), err)
	}

	watch, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch = %v, %v; want SERVING", resp.GetStatus(), err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop(context.Background()) }()
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch during Stop = %v, %v; want NOT_SERVING", resp.GetStatus(), err)
	}
	cancel() // end the watch so that the graceful stop completes
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
}

func listServices(ctx context.Context, cc *ggrpc.ClientConn) ([]string, error) {
	st, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer st.CloseSend()
	// Send returns io.EOF when the server has already ended the stream (with
	// Unimplemented, say); the stream's status then comes from Recv.
	if err := st.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil && err != io.EOF {
		return nil, err
	}
	resp, err := st.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	slices.Sort(names)
	return names, nil
}

func TestReflection(t *testing.T) {
	_, ep := startServer(t, newTestService("a"))
	names, err := listServices(testCtx(t), rawDial(t, ep))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.testing.TestService"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %q, missing %q", names, want)
		}
	}

	_, ep = startServer(t, newTestService("a"), grpc.DisableReflection())
	if _, err := listServices(testCtx(t), rawDial(t, ep)); status.Code(err) != codes.Unimplemented {
		t.Errorf("with reflection disabled: error %v, want Unimplemented", err)
	}
}

func TestEndpoint(t *testing.T) {
	srv, ep := startServer(t, newTestService("a"))
	if ep.Scheme != "grpc" || ep.Port() == "0" || ep.Hostname() != "127.0.0.1" {
		t.Errorf("Endpoint() = %v, want grpc://127.0.0.1:<port>", ep)
	}
	again, err := srv.Endpoint()
	if err != nil || again.String() != ep.String() {
		t.Errorf("second Endpoint() = %v, %v; want %v", again, err, ep)
	}
	// Start served on the listener Endpoint bound.
	if _, err := testpb.NewTestServiceClient(dial(t, ep)).UnaryCall(testCtx(t), &testpb.SimpleRequest{}); err != nil {
		t.Errorf("call to %v: %v", ep, err)
	}

	any := grpc.NewServer(grpc.Address(":0"), grpc.Logger(quiet))
	u, err := any.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || ip.IsUnspecified() || u.Port() == "0" {
		t.Errorf("Endpoint() of :0 = %v, want a usable host IP and a port", u)
	}
	if err := any.Stop(context.Background()); err != nil { // closes the bound listener
		t.Errorf("Stop: %v", err)
	}

	bad := grpc.NewServer(grpc.Address("127.0.0.1:-1"), grpc.Logger(quiet))
	if _, err := bad.Endpoint(); err == nil || !strings.Contains(err.Error(), "127.0.0.1:-1") {
		t.Errorf("Endpoint() of a bad address: error %v, want one naming the address", err)
	}
	if err := bad.Start(context.Background()); err == nil {
		t.Error("Start with a bad address succeeded")
	}
}

// closeListener records that it was closed.
type closeListener struct {
	net.Listener
	closed chan struct{}
	once   sync.Once
}

func (l *closeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func TestStartWithDoneContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis := &closeListener{Listener: l, closed: make(chan struct{})}
	srv := grpc.NewServer(grpc.Listener(lis), grpc.Logger(quiet))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a done context = %v, want context.Canceled", err)
	}
	if err := srv.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
	select {
	case <-lis.closed:
	default:
		t.Error("Stop left the listener of a server that never served open")
	}
	// Start after Stop returns nil at once.
	if err := srv.Start(context.Background()); err != nil {
		t.Errorf("Start after Stop = %v, want nil", err)
	}
}

func TestGracefulStop(t *testing.T) {
	svc := newTestService("a")
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet))
	testpb.RegisterTestServiceServer(srv, svc)
	ep, _ := srv.Endpoint()
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	client := testpb.NewTestServiceClient(dial(t, ep))

	result := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{Payload: payload("block")}, ggrpc.WaitForReady(true))
		result <- err
	}()
	<-svc.started
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop(testCtx(t)) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) with an RPC in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(svc.release)
	if err := <-result; err != nil {
		t.Errorf("in-flight RPC failed: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
	if _, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{}); err == nil {
		t.Error("call after Stop succeeded")
	}
}

func TestStopDeadlineForcesStop(t *testing.T) {
	svc := newTestService("a")
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet))
	testpb.RegisterTestServiceServer(srv, svc)
	ep, _ := srv.Endpoint()
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	client := testpb.NewTestServiceClient(dial(t, ep))
	result := make(chan error, 1)
	go func() {
		_, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{Payload: payload("block")}, ggrpc.WaitForReady(true))
		result <- err
	}()
	<-svc.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want a deadline error", err)
	}
	if err := <-result; err == nil {
		t.Error("RPC cut by a forced stop succeeded")
	}
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	_, ep := startServer(t, newTestService("a"), grpc.Timeout(time.Minute))
	client := testpb.NewTestServiceClient(dial(t, ep))
	out, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: payload("deadline")})
	if err != nil || string(out.GetPayload().GetBody()) != "true" {
		t.Errorf("server Timeout: deadline set = %q, %v; want true", out.GetPayload().GetBody(), err)
	}

	_, ep = startServer(t, newTestService("a"))
	client = testpb.NewTestServiceClient(dial(t, ep, grpc.WithTimeout(50*time.Millisecond)))
	_, err = client.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: payload("block")})
	if !errors.IsGatewayTimeout(err) {
		t.Errorf("client WithTimeout: error %v, want 504", err)
	}
}

func TestClientTransporterHeaders(t *testing.T) {
	_, ep := startServer(t, newTestService("a"), grpc.Middleware(mdmw.Server()))
	setHeader := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, _ := transport.FromClientContext(ctx)
			h := tr.RequestHeader()
			if got := h.Get("x-md-local-hop"); got != "raw" {
				t.Errorf("client RequestHeader sees outgoing md %q, want raw", got)
			}
			h.Set("x-md-global-user", "carol")
			if !slices.Contains(h.Keys(), "x-md-local-hop") || len(h.Values("x-md-global-user")) != 1 {
				t.Errorf("client header keys %q", h.Keys())
			}
			return next(ctx, req)
		}
	}
	client := testpb.NewTestServiceClient(dial(t, ep, grpc.WithMiddleware(setHeader)))
	ctx := gmd.AppendToOutgoingContext(testCtx(t), "x-md-local-hop", "raw")
	out, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("md")})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out.GetPayload().GetBody()); got != "carol,raw" {
		t.Errorf("server saw %q, want carol,raw", got)
	}
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := grpc.DialInsecure(ctx); err == nil {
		t.Error("dial without endpoint succeeded")
	}
	if _, err := grpc.DialInsecure(ctx, grpc.WithEndpoint("discovery:///user.service")); err == nil || !strings.Contains(err.Error(), "WithDiscovery") {
		t.Errorf("discovery without registry: error %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := grpc.DialInsecure(canceled, grpc.WithEndpoint("127.0.0.1:1")); !errors.Is(err, context.Canceled) {
		t.Errorf("dial with a canceled context: error %v", err)
	}
}

func TestInterceptorsAndOptions(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	note := func(s string) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}
	opName := func(ctx context.Context, server bool) string {
		from := transport.FromClientContext
		if server {
			from = transport.FromServerContext
		}
		if tr, ok := from(ctx); ok {
			return tr.Operation()
		}
		return "none"
	}
	replyHeader := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, _ := transport.FromServerContext(ctx)
			tr.ReplyHeader().Set("x-stream", "s")
			return next(ctx, req)
		}
	}
	_, ep := startServer(t, newTestService("a"),
		grpc.Options(ggrpc.MaxRecvMsgSize(1<<20)),
		grpc.StreamMiddleware(replyHeader),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *ggrpc.UnaryServerInfo, h ggrpc.UnaryHandler) (any, error) {
			note("server unary " + opName(ctx, true))
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss ggrpc.ServerStream, info *ggrpc.StreamServerInfo, h ggrpc.StreamHandler) error {
			note("server stream " + opName(ss.Context(), true))
			return h(srv, ss)
		}),
	)
	cc := dial(t, ep,
		grpc.WithOptions(ggrpc.WithUserAgent("zelos-test")),
		grpc.WithHealthCheck(false),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *ggrpc.ClientConn, inv ggrpc.UnaryInvoker, opts ...ggrpc.CallOption) error {
			note("client unary " + opName(ctx, false))
			return inv(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *ggrpc.StreamDesc, cc *ggrpc.ClientConn, method string, s ggrpc.Streamer, opts ...ggrpc.CallOption) (ggrpc.ClientStream, error) {
			note("client stream " + opName(ctx, false))
			return s(ctx, desc, cc, method, opts...)
		}),
	)
	client := testpb.NewTestServiceClient(cc)
	ctx := testCtx(t)
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	st, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testpb.StreamingOutputCallRequest{Payload: payload("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	h, err := st.Header()
	if err != nil || len(h.Get("x-stream")) != 1 {
		t.Errorf("stream header = %v, %v; want x-stream from the stream middleware", h, err)
	}
	_ = st.CloseSend()
	if _, err := st.Recv(); err != io.EOF {
		t.Errorf("end of stream: %v", err)
	}
	const unary, bidi = "/grpc.testing.TestService/UnaryCall", "/grpc.testing.TestService/FullDuplexCall"
	for _, want := range []string{
		"client unary " + unary, "server unary " + unary,
		"client stream " + bidi, "server stream " + bidi,
	} {
		mu.Lock()
		ok := slices.Contains(seen, want)
		mu.Unlock()
		if !ok {
			t.Errorf("interceptors saw %q, missing %q", seen, want)
		}
	}
}
