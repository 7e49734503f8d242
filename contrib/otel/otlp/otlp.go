// Package otlp sets up OpenTelemetry tracing for a Zelos service: an SDK
// TracerProvider that batches spans to an OTLP/gRPC collector (Jaeger,
// Tempo, the OpenTelemetry Collector).
//
//	tp, err := otlp.NewTracerProvider(ctx, otlp.WithServiceName("user-service"))
//	if err != nil {
//		return err
//	}
//	defer tp.Shutdown(context.Background())
//	otel.SetTracerProvider(tp)
//	http.Middleware(tracing.Server()) // middleware/tracing uses the global provider
//
// The collector's address comes from WithEndpoint or, as the OpenTelemetry
// SDKs do, from OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_EXPORTER_OTLP_*
// variables the exporter reads). Enabled reports whether one is set, so a
// service can trace only when asked to.
//
// It is its own module, so that the core depends on the OpenTelemetry API
// only.
package otlp

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// EndpointEnv is the variable the collector's address is read from when
// WithEndpoint is not given.
const EndpointEnv = "OTEL_EXPORTER_OTLP_ENDPOINT"

// Enabled reports whether EndpointEnv (or its traces-only form) is set.
func Enabled() bool {
	return os.Getenv(EndpointEnv) != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Option configures NewTracerProvider.
type Option func(*config)

type config struct {
	service, version string
	endpoint         string
	insecure         bool
	sampler          sdktrace.Sampler
	exporter         []otlptracegrpc.Option
	provider         []sdktrace.TracerProviderOption
}

// WithServiceName sets service.name. The default is the SDK's, from
// OTEL_SERVICE_NAME.
func WithServiceName(name string) Option { return func(c *config) { c.service = name } }

// WithServiceVersion sets service.version.
func WithServiceVersion(v string) Option { return func(c *config) { c.version = v } }

// WithEndpoint sets the collector's host:port, or a URL such as
// http://collector:4317 (http means no TLS). The default comes from the
// environment.
func WithEndpoint(endpoint string) Option { return func(c *config) { c.endpoint = endpoint } }

// WithInsecure sends spans without TLS, as to a collector on the same host
// or pod. The default uses TLS unless the endpoint URL says http.
func WithInsecure() Option { return func(c *config) { c.insecure = true } }

// WithSampler sets the sampler. The default is the SDK's: parent-based,
// always on for roots (OTEL_TRACES_SAMPLER may change it).
func WithSampler(s sdktrace.Sampler) Option { return func(c *config) { c.sampler = s } }

// WithExporterOptions passes options to the OTLP/gRPC exporter.
func WithExporterOptions(opts ...otlptracegrpc.Option) Option {
	return func(c *config) { c.exporter = append(c.exporter, opts...) }
}

// WithProviderOptions passes options to the SDK TracerProvider, such as
// sdktrace.WithSyncer for tests.
func WithProviderOptions(opts ...sdktrace.TracerProviderOption) Option {
	return func(c *config) { c.provider = append(c.provider, opts...) }
}

// NewTracerProvider returns an SDK TracerProvider exporting to OTLP/gRPC.
// The exporter connects lazily, so a collector that is down does not stop
// the service from starting; spans are dropped while it is unreachable.
// Shut the provider down at exit to flush the last spans.
func NewTracerProvider(ctx context.Context, opts ...Option) (*sdktrace.TracerProvider, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	eo := []otlptracegrpc.Option{}
	if c.endpoint != "" {
		if hasScheme(c.endpoint) {
			eo = append(eo, otlptracegrpc.WithEndpointURL(c.endpoint))
		} else {
			eo = append(eo, otlptracegrpc.WithEndpoint(c.endpoint))
		}
	}
	if c.insecure {
		eo = append(eo, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, append(eo, c.exporter...)...)
	if err != nil {
		return nil, fmt.Errorf("contrib/otel/otlp: exporter: %w", err)
	}
	attrs := resource.Default().Attributes()
	if c.service != "" {
		attrs = append(attrs, semconv.ServiceName(c.service))
	}
	if c.version != "" {
		attrs = append(attrs, semconv.ServiceVersion(c.version))
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, attrs...))
	if err != nil {
		return nil, fmt.Errorf("contrib/otel/otlp: resource: %w", err)
	}
	po := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	if c.sampler != nil {
		po = append(po, sdktrace.WithSampler(c.sampler))
	}
	return sdktrace.NewTracerProvider(append(po, c.provider...)...), nil
}

func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			return i+2 < len(s) && s[i+1] == '/' && s[i+2] == '/'
		case !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
			return false
		}
	}
	return false
}
