package recovery_test

import (
	"context"
	"fmt"
	"io"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/recovery"
)

func ExampleRecovery() {
	m := recovery.Recovery(recovery.WithLogger(log.NewStdLogger(io.Discard)))
	h := m(func(context.Context, any) (any, error) { panic("nil map") })
	_, err := h(context.Background(), nil)
	fmt.Println(errors.Code(err), errors.Reason(err))
	// Output: 500 PANIC
}
