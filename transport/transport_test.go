package transport_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/zelos-go/zelos/transport"
)

type tr struct{ op string }

func (t tr) Kind() transport.Kind            { return transport.KindHTTP }
func (t tr) Endpoint() string                { return "http://127.0.0.1:8000" }
func (t tr) Operation() string               { return t.op }
func (t tr) RequestHeader() transport.Header { return nil }
func (t tr) ReplyHeader() transport.Header   { return nil }

func TestContexts(t *testing.T) {
	ctx := context.Background()
	if _, ok := transport.FromServerContext(ctx); ok {
		t.Fatal("server Transporter in an empty context")
	}
	if _, ok := transport.FromClientContext(ctx); ok {
		t.Fatal("client Transporter in an empty context")
	}
	sctx := transport.NewServerContext(ctx, tr{op: "/s"})
	cctx := transport.NewClientContext(sctx, tr{op: "/c"})
	s, ok := transport.FromServerContext(cctx)
	if !ok || s.Operation() != "/s" {
		t.Fatalf("server Transporter = %v, %v", s, ok)
	}
	c, ok := transport.FromClientContext(cctx)
	if !ok || c.Operation() != "/c" {
		t.Fatalf("client Transporter = %v, %v", c, ok)
	}
	// The keys are what the transports answer from their own context types.
	if sctx.Value(transport.ServerContextKey()) == nil || cctx.Value(transport.ClientContextKey()) == nil {
		t.Fatal("the exported keys do not find the Transporters")
	}
	if transport.ServerContextKey() == transport.ClientContextKey() {
		t.Fatal("server and client keys are equal")
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[transport.Kind]string{transport.KindHTTP: "http", transport.KindGRPC: "grpc"} {
		if k.String() != want {
			t.Errorf("%q.String() = %q", k, k.String())
		}
	}
}

func ExampleFromServerContext() {
	ctx := transport.NewServerContext(context.Background(), tr{op: "/helloworld.v1.Greeter/SayHello"})
	if t, ok := transport.FromServerContext(ctx); ok {
		fmt.Println(t.Kind(), t.Operation())
	}
	// Output: http /helloworld.v1.Greeter/SayHello
}
