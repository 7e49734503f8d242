package otlp_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"

	"github.com/zelos-go/zelos/contrib/otel/otlp"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/transport/http"
)

func ExampleNewTracerProvider() {
	// Trace only when a collector is configured, as examples/helloworld does.
	if otlp.Enabled() {
		tp, err := otlp.NewTracerProvider(context.Background(), otlp.WithServiceName("user-service"))
		if err != nil {
			panic(err)
		}
		defer tp.Shutdown(context.Background())
		otel.SetTracerProvider(tp)
	}
	srv := http.NewServer(http.Middleware(tracing.Server()))
	fmt.Println(srv != nil)
	// Output: true
}
