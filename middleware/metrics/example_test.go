package metrics_test

import (
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func ExampleServer() {
	// With no MeterProvider option the global one is used:
	// otel.SetMeterProvider(mp) at start-up, or see contrib/metrics/prometheus.
	httpSrv := http.NewServer(http.Middleware(metrics.Server()))
	grpcSrv := grpc.NewServer(grpc.Middleware(metrics.Server()))
	_, _ = httpSrv, grpcSrv
	// Output:
}
