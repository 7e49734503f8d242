package grpc

import (
	"context"
	"slices"
	"testing"

	ggrpc "google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

func TestTransportsAnswerTheirKeys(t *testing.T) {
	tr := &serverTransport{Context: context.Background()}
	if got, ok := transport.FromServerContext(withServerTransport(tr)); !ok || got != transport.Transporter(tr) {
		t.Error("FromServerContext does not find the server transport")
	}
	ct := &clientTransport{Context: context.Background()}
	if got, ok := transport.FromClientContext(withClientTransport(ct)); !ok || got != transport.Transporter(ct) {
		t.Error("FromClientContext does not find the client transport")
	}
	if _, ok := transport.FromClientContext(withServerTransport(tr)); ok {
		t.Error("a server transport answers as a client one")
	}
}

func TestIncomingHeader(t *testing.T) {
	raw := metadata.Pairs("x-md-global-user", "alice", "accept", "a", "accept", "b")
	ctx := metadata.NewIncomingContext(context.Background(), raw)
	h := &incomingHeader{ctx: ctx}
	if got := h.Get("X-Md-Global-User"); got != "alice" {
		t.Errorf("Get = %q", got)
	}
	if got := h.Values("accept"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Values = %q", got)
	}
	if h.loaded {
		t.Error("Get and Values copied the whole metadata")
	}
	keys := h.Keys()
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"accept", "x-md-global-user"}) {
		t.Errorf("Keys = %q", keys)
	}
	h.Set("x-new", "1")
	h.Add("accept", "c")
	if h.Get("x-new") != "1" || len(h.Values("accept")) != 3 {
		t.Errorf("after writes: %v", h.md)
	}
	if len(raw) != 2 || len(raw["accept"]) != 2 {
		t.Errorf("writes changed grpc-go's metadata: %v", raw)
	}
	if got := h.Values("accept"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Values after writes = %q", got)
	}
	if got := (&incomingHeader{ctx: context.Background()}).Get("x"); got != "" {
		t.Errorf("Get without metadata = %q", got)
	}
	if got := (&incomingHeader{ctx: context.Background()}).Values("x"); got != nil {
		t.Errorf("Values without metadata = %q", got)
	}
}

func TestOutgoingHeader(t *testing.T) {
	ctx := metadata.AppendToOutgoingContext(context.Background(), "k", "v")
	h := &outgoingHeader{ctx: ctx}
	if h.Get("k") != "v" || len(h.Values("k")) != 1 || h.dirty {
		t.Errorf("read: Get %q Values %q dirty %v", h.Get("k"), h.Values("k"), h.dirty)
	}
	tr := &clientTransport{Context: ctx}
	tr.reqHeader.ctx = ctx
	if tr.outgoing(ctx) != ctx {
		t.Error("an untouched header replaced the outgoing metadata")
	}
	tr.reqHeader.Add("k", "w")
	tr.reqHeader.Set("n", "1")
	md, _ := metadata.FromOutgoingContext(tr.outgoing(ctx))
	if !slices.Equal(md["k"], []string{"v", "w"}) || md.Get("n")[0] != "1" {
		t.Errorf("outgoing metadata = %v", md)
	}
	if keys := tr.reqHeader.Keys(); len(keys) != 2 {
		t.Errorf("Keys = %q", keys)
	}
}

func TestMDHeaderZeroValue(t *testing.T) {
	var h mdHeader
	if h.Get("a") != "" || h.Keys() != nil || h.Values("a") != nil {
		t.Error("zero mdHeader not empty")
	}
	h.Add("A", "1")
	h.Set("b", "2")
	if h.Get("a") != "1" || h.Get("B") != "2" {
		t.Errorf("mdHeader = %v", h.md)
	}
}

// TestHeadersEndToEnd runs a call whose server and client middleware read
// and write the Transporter headers.
func TestHeadersEndToEnd(t *testing.T) {
	var seen string
	srv := NewServer(Address("127.0.0.1:0"), Logger(discardLogger{}), Middleware(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, _ := transport.FromServerContext(ctx)
			seen = tr.RequestHeader().Get("x-user")
			tr.ReplyHeader().Set("x-reply", "r")
			return next(ctx, req)
		}
	}))
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

	var reply string
	cc, err := DialInsecure(context.Background(), WithEndpoint(ep.String()), WithMiddleware(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, _ := transport.FromClientContext(ctx)
			tr.RequestHeader().Set("x-user", "u")
			rh := tr.ReplyHeader()
			r, err := next(ctx, req)
			reply = rh.Get("x-reply")
			return r, err
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{}, ggrpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	if seen != "u" || reply != "r" {
		t.Errorf("server saw %q, client got %q; want u and r", seen, reply)
	}
}

type discardLogger struct{}

func (discardLogger) Log(log.Level, ...any) error { return nil }
