package timeout_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/middleware/timeout"
)

func ExampleServer() {
	h := timeout.Server(time.Second)(func(ctx context.Context, _ any) (any, error) {
		_, ok := ctx.Deadline()
		return ok, nil
	})
	hasDeadline, _ := h(context.Background(), nil)
	fmt.Println(hasDeadline)
	// Output: true
}
