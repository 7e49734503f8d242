package retry_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/retry"
)

var errNotFound = errors.NotFound("USER_NOT_FOUND", "no such user")

// The tutorial's shape: up to 3 attempts, the retries after about 100ms and
// 200ms. Pass it to grpc.WithMiddleware or http.WithMiddleware.
func ExampleClient() {
	m := retry.Client(retry.WithAttempts(3), retry.WithDelay(100*time.Millisecond),
		retry.WithBackoff(retry.BackoffExponential))

	calls := 0
	call := m(func(context.Context, any) (any, error) {
		calls++
		if calls < 3 {
			return nil, errors.ServiceUnavailable("UNAVAILABLE", "instance restarting")
		}
		return "hello", nil
	})
	reply, err := call(context.Background(), nil)
	fmt.Println(reply, err, calls)

	// A 404 is an answer, not a failure: it is not retried.
	calls = 0
	notFound := m(func(context.Context, any) (any, error) { calls++; return nil, errNotFound })
	_, err = notFound(context.Background(), nil)
	fmt.Println(errors.IsNotFound(err), calls)
	// Output:
	// hello <nil> 3
	// true 1
}
