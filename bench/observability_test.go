package bench

import (
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	zprom "github.com/zelos-go/zelos/contrib/metrics/prometheus"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/middleware/recovery"
)

// observed is the recovery+metadata server chain the observability
// middleware is added to.
func observed() []middleware.Middleware {
	return []middleware.Middleware{recovery.Recovery(recovery.WithLogger(log.NewStdLogger(io.Discard))), metadata.Server()}
}

// observedClient is its client counterpart.
func observedClient() []middleware.Middleware {
	return []middleware.Middleware{recovery.Recovery(recovery.WithLogger(log.NewStdLogger(io.Discard))), metadata.Client()}
}

// sdkTracer is a real SDK TracerProvider sampling every span. It has no
// exporter: the benchmark measures recording spans, not shipping them.
func sdkTracer() *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
}

// promMeter is contrib/metrics/prometheus's MeterProvider on a fresh
// registry.
func promMeter() metric.MeterProvider {
	mp, err := zprom.NewMeterProvider(prometheus.NewRegistry())
	if err != nil {
		panic(err)
	}
	return mp
}
