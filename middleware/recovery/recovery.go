// Package recovery turns panics in handlers into errors, so that one bad
// request cannot take the process down.
//
// A recovered panic is logged at error level with the operation and the
// goroutine's stack, and the request fails with a 500 error of reason
// PANIC (or what WithHandler returns). The panic value is kept as the
// error's cause, for logs, and never sent to clients.
//
// Given to a server's Middleware option, Recovery covers every handler of
// that server, streaming ones included: gRPC stream handlers, and HTTP
// SSE and WebSocket routes. Put it first, so that it also recovers panics
// of the middleware after it.
package recovery

import (
	"context"
	"fmt"
	"net/http"
	"runtime"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// Reason is the reason of the default error a panic becomes.
const Reason = "PANIC"

// maxStack bounds the logged stack.
const maxStack = 64 << 10

// HandlerFunc turns a recovered panic value into the request's error.
type HandlerFunc func(ctx context.Context, req, panicValue any) error

// Option configures Recovery.
type Option func(*options)

type options struct {
	handler HandlerFunc
	logger  log.Logger
}

// WithHandler sets the function that turns a panic into the request's error.
// The default returns errors.InternalServer(Reason, "internal server error")
// with the panic as its cause.
func WithHandler(h HandlerFunc) Option {
	return func(o *options) { o.handler = h }
}

// WithLogger sets the logger the panic and its stack are written to, at
// error level. The default is log.DefaultLogger.
func WithLogger(l log.Logger) Option {
	return func(o *options) { o.logger = l }
}

// PanicError is the cause of the default error: the recovered value.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func defaultHandler(_ context.Context, _, v any) error {
	return errors.InternalServer(Reason, "internal server error").WithCause(&PanicError{Value: v})
}

// Recovery returns middleware that recovers panics of the handlers it wraps.
// A panic with http.ErrAbortHandler, net/http's way to abort a response, is
// re-raised.
func Recovery(opts ...Option) middleware.Middleware {
	o := options{handler: defaultHandler, logger: log.DefaultLogger}
	for _, opt := range opts {
		opt(&o)
	}
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (reply any, err error) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					o.log(ctx, v)
					reply, err = nil, o.handler(ctx, req, v)
				}
			}()
			return next(ctx, req)
		}
	}
}

func (o *options) log(ctx context.Context, v any) {
	buf := make([]byte, maxStack)
	buf = buf[:runtime.Stack(buf, false)]
	kv := []any{"msg", "panic recovered", "panic", fmt.Sprint(v)}
	if tr, ok := transport.FromServerContext(ctx); ok {
		kv = append(kv, "kind", "server", "operation", tr.Operation())
	} else if tr, ok := transport.FromClientContext(ctx); ok {
		kv = append(kv, "kind", "client", "operation", tr.Operation())
	}
	_ = o.logger.Log(log.LevelError, append(kv, "stack", string(buf))...)
}
