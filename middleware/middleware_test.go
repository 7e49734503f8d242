package middleware

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func tag(name string, trace *[]string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, req any) (any, error) {
			*trace = append(*trace, name+">")
			reply, err := next(ctx, req)
			*trace = append(*trace, "<"+name)
			return reply, err
		}
	}
}

func TestChainOrder(t *testing.T) {
	var trace []string
	h := Chain(tag("a", &trace), tag("b", &trace), tag("c", &trace))(func(ctx context.Context, req any) (any, error) {
		trace = append(trace, "handler")
		return req, nil
	})
	reply, err := h(context.Background(), "x")
	if err != nil || reply != "x" {
		t.Fatalf("reply %v, %v", reply, err)
	}
	if got := strings.Join(trace, " "); got != "a> b> c> handler <c <b <a" {
		t.Fatalf("order: %s", got)
	}
}

func TestChainEmpty(t *testing.T) {
	h := Chain()(func(ctx context.Context, req any) (any, error) { return "ok", nil })
	if reply, _ := h(context.Background(), nil); reply != "ok" {
		t.Fatal("empty chain must call the handler")
	}
}

func ExampleChain() {
	logged := func(name string) Middleware {
		return func(next Handler) Handler {
			return func(ctx context.Context, req any) (any, error) {
				fmt.Println("enter", name)
				return next(ctx, req)
			}
		}
	}
	h := Chain(logged("recovery"), logged("logging"))(func(ctx context.Context, req any) (any, error) {
		return "hello " + req.(string), nil
	})
	reply, _ := h(context.Background(), "zelos")
	fmt.Println(reply)
	// Output:
	// enter recovery
	// enter logging
	// hello zelos
}
