package circuitbreaker_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/circuitbreaker"
)

func ExampleClient() {
	// The tutorial's breaker. Pass it to grpc.WithMiddleware or
	// http.WithMiddleware; here it wraps a failing call directly.
	mw := circuitbreaker.Client(
		circuitbreaker.WithCommandName("user.service"),
		circuitbreaker.WithTimeout(5*time.Second),
		circuitbreaker.WithMaxRequests(10),
		circuitbreaker.WithInterval(60*time.Second),
		circuitbreaker.WithFailureRatio(0.6))
	sent := 0
	call := mw(func(context.Context, any) (any, error) {
		sent++
		return nil, errors.ServiceUnavailable("DOWN", "user service down")
	})
	var err error
	for range 100 {
		_, err = call(context.Background(), nil)
	}
	fmt.Println("sent:", sent)
	fmt.Println("last error:", errors.Reason(err))
	// Output:
	// sent: 20
	// last error: CIRCUITBREAKER
}
