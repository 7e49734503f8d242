// Package middleware defines the handler model shared by every Zelos
// transport: a Handler takes a request and returns a reply, and a
// Middleware wraps a Handler. The same chain runs on HTTP and gRPC, on the
// server and on the client.
package middleware

import "context"

// Handler handles one request.
type Handler func(ctx context.Context, req any) (any, error)

// Middleware wraps a Handler with extra behaviour.
type Middleware func(Handler) Handler

// Chain composes middlewares so that the first one is the outermost:
// Chain(a, b)(h) runs a, then b, then h.
func Chain(m ...Middleware) Middleware {
	return func(next Handler) Handler {
		for i := len(m) - 1; i >= 0; i-- {
			next = m[i](next)
		}
		return next
	}
}
