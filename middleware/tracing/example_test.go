package tracing_test

import (
	"os"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func ExampleServer() {
	// The global TracerProvider is used unless WithTracerProvider is given;
	// contrib/otel/otlp builds one that exports to an OTLP collector.
	logger := log.With(log.NewStdLogger(os.Stdout), "trace.id", tracing.TraceID(), "span.id", tracing.SpanID())
	httpSrv := http.NewServer(http.Middleware(logging.Server(logger), tracing.Server()))
	grpcSrv := grpc.NewServer(grpc.Middleware(tracing.Server()))
	conn := grpc.WithMiddleware(tracing.Client())
	_, _, _ = httpSrv, grpcSrv, conn
	// Output:
}
