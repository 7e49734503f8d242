package main

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/zelos-go/zelos/examples/helloworld/api/helloworld/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/middleware/recovery"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/middleware/validate"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

// instanceHeader is the reply header naming the instance that served a
// request, so that clients can see the load balancing at work.
const instanceHeader = "x-helloworld-instance"

// NewHTTPServer returns the HTTP server with the Greeter's routes, as
// generated from the google.api.http rules in greeter.proto. id is
// the instance ID sent in the instanceHeader reply header. It answers the
// Kubernetes probes, /healthz, /readyz and /health, by default.
func NewHTTPServer(c *ServerConfig, id string, greeter *GreeterService, tel *telemetry, logger log.Logger) (*http.Server, error) {
	timeout, err := parseTimeout(c.Timeout)
	if err != nil {
		return nil, fmt.Errorf("server.http.timeout: %w", err)
	}
	srv := http.NewServer(
		http.Address(c.Addr),
		http.Timeout(timeout),
		http.Logger(logger),
		http.Middleware(
			// Outside recovery, so that spans and metrics see the 500 a
			// panic becomes.
			tracing.Server(tracing.WithTracerProvider(tel.tracer)),
			metrics.Server(metrics.WithMeterProvider(tel.meters)),
			recovery.Recovery(recovery.WithLogger(logger)),
			logging.Server(logger),
			metadata.Server(),
			validate.Validator(),
			instance(id),
		),
	)
	v1.RegisterGreeterHTTPServer(srv, greeter)
	return srv, nil
}

// NewGRPCServer returns the gRPC server with the Greeter registered. id is
// the instance ID sent in the instanceHeader reply header.
func NewGRPCServer(c *ServerConfig, id string, greeter *GreeterService, tel *telemetry, logger log.Logger) (*grpc.Server, error) {
	timeout, err := parseTimeout(c.Timeout)
	if err != nil {
		return nil, fmt.Errorf("server.grpc.timeout: %w", err)
	}
	srv := grpc.NewServer(
		grpc.Address(c.Addr),
		grpc.Timeout(timeout),
		grpc.Logger(logger),
		grpc.Middleware(
			tracing.Server(tracing.WithTracerProvider(tel.tracer)),
			metrics.Server(metrics.WithMeterProvider(tel.meters)),
			recovery.Recovery(recovery.WithLogger(logger)),
			logging.Server(logger),
			metadata.Server(),
			validate.Validator(),
			instance(id),
		),
	)
	v1.RegisterGreeterServer(srv, greeter)
	return srv, nil
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// instance is a middleware that names the instance in the reply header.
func instance(id string) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			if tr, ok := transport.FromServerContext(ctx); ok {
				tr.ReplyHeader().Set(instanceHeader, id)
			}
			return next(ctx, req)
		}
	}
}
