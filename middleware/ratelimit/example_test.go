package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/ratelimit"
)

func ExampleServer() {
	// The tutorial's limiter: 100 requests at once, then 100 per second.
	mw := ratelimit.Server(ratelimit.WithLimiter(ratelimit.NewMemoryLimiter(
		ratelimit.WithInterval(time.Second), ratelimit.WithBurst(100))))
	// Pass mw to http.Middleware or grpc.Middleware; here it wraps a handler.
	h := mw(func(context.Context, any) (any, error) { return "ok", nil })
	rejected := 0
	for range 150 {
		if _, err := h(context.Background(), nil); errors.IsTooManyRequests(err) {
			rejected++
		}
	}
	fmt.Println("rejected", rejected, "of 150")
	// Output: rejected 50 of 150
}
