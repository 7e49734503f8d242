package logging_test

import (
	"context"
	"os"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/transport"
)

// fixedLatency hides the latency so that the output is stable.
type fixedLatency struct{ log.Logger }

func (l fixedLatency) Log(level log.Level, kv ...any) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "latency" {
			kv[i+1] = 0.001
		}
	}
	return l.Logger.Log(level, kv...)
}

func ExampleServer() {
	logger := fixedLatency{log.NewStdLogger(os.Stdout)}
	h := logging.Server(logger)(func(_ context.Context, req any) (any, error) { return req, nil })

	ctx := transport.NewServerContext(context.Background(), &httpTransporter{op: "/users/{id}"})
	_, _ = h(ctx, nil)
	// Output: level=INFO kind=server component=http operation=/users/{id} code=200 reason="" latency=0.001
}
