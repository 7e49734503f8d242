// Package prometheus exposes Zelos's metrics to Prometheus: a
// MeterProvider backed by the OpenTelemetry Prometheus exporter, writing to
// a client_golang registry that users add their own collectors to, and the
// /metrics handler for that registry.
//
//	reg := prometheus.NewRegistry()               // client_golang
//	reg.MustRegister(myCounter)                    // your own metrics
//	mp, err := zprom.NewMeterProvider(reg)
//	http.Middleware(metrics.Server(metrics.WithMeterProvider(mp)))
//	admin.Handle("/metrics", zprom.Handler(reg))
//
// Metric names follow the exporter's translation of the OpenTelemetry
// names: http.server.request.duration becomes
// http_server_request_duration_seconds (_bucket, _sum, _count).
//
// It is its own module, so that the core does not depend on the
// OpenTelemetry SDK or on client_golang.
package prometheus

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Option configures NewMeterProvider.
type Option func(*config)

type config struct {
	res      *resource.Resource
	exporter []otelprom.Option
	provider []metric.Option
}

// WithResource sets the resource (service.name and the like) the metrics
// describe; the exporter writes it as target_info. The default is the SDK's
// default resource.
func WithResource(r *resource.Resource) Option {
	return func(c *config) { c.res = r }
}

// WithExporterOptions passes options to the OpenTelemetry Prometheus
// exporter, such as otelprom.WithoutScopeInfo().
func WithExporterOptions(opts ...otelprom.Option) Option {
	return func(c *config) { c.exporter = append(c.exporter, opts...) }
}

// WithProviderOptions passes options to the SDK MeterProvider, such as
// views.
func WithProviderOptions(opts ...metric.Option) Option {
	return func(c *config) { c.provider = append(c.provider, opts...) }
}

// NewMeterProvider returns an SDK MeterProvider whose metrics are collected
// into reg on every scrape. Shut it down at exit.
func NewMeterProvider(reg prometheus.Registerer, opts ...Option) (*metric.MeterProvider, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	exp, err := otelprom.New(append([]otelprom.Option{otelprom.WithRegisterer(reg)}, c.exporter...)...)
	if err != nil {
		return nil, fmt.Errorf("contrib/metrics/prometheus: exporter: %w", err)
	}
	po := []metric.Option{metric.WithReader(exp)}
	if c.res != nil {
		po = append(po, metric.WithResource(c.res))
	}
	return metric.NewMeterProvider(append(po, c.provider...)...), nil
}

// Handler serves g's metrics in the Prometheus exposition format (and
// OpenMetrics when the scraper asks for it). A collector that fails does
// not fail the scrape: the others are still served and the failure is
// counted in promhttp_metric_handler_errors_total.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, EnableOpenMetrics: true})
}
