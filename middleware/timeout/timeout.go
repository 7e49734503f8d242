// Package timeout bounds how long requests may take.
//
// The middleware gives the request's context a deadline d from now, unless
// the context already has an earlier one: a deadline set by the caller (such
// as a gRPC client's, which crosses the wire) is shortened, never extended.
// A request that runs out of time fails with the handler's error, usually
// context.DeadlineExceeded, which the errors package maps to 504.
package timeout

import (
	"context"
	"time"

	"github.com/zelos-go/zelos/internal/deadline"
	"github.com/zelos-go/zelos/middleware"
)

// Server returns middleware that bounds the requests a server handles to d.
// A d of zero or less sets no deadline.
func Server(d time.Duration) middleware.Middleware { return timeout(d) }

// Client returns middleware that bounds the calls a client makes to d.
// A d of zero or less sets no deadline.
func Client(d time.Duration) middleware.Middleware { return timeout(d) }

func timeout(d time.Duration) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		if d <= 0 {
			return next
		}
		return func(ctx context.Context, req any) (any, error) {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
				return next(ctx, req)
			}
			// One allocation where context.WithTimeout costs 4 to 6: the
			// timer and channel are made only if something waits on Done.
			dc := deadline.New(ctx, time.Now().Add(d))
			defer dc.Release()
			return next(dc, req)
		}
	}
}
