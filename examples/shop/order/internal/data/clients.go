package data

import (
	"context"
	"time"

	ggrpc "google.golang.org/grpc"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	productv1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	userv1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/circuitbreaker"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/resilience/budget"
	"github.com/zelos-go/zelos/transport/grpc"
)

// ClientOptions configures the clients of the user and product services.
type ClientOptions struct {
	// UserTarget and ProductTarget are where the services are,
	// discovery:///user.service and discovery:///product.service.
	UserTarget, ProductTarget string
	// Discovery resolves discovery:/// targets.
	Discovery registry.Discovery
	// Timeout bounds each call, retries included; zero means none.
	Timeout time.Duration
	// Attempts is the most times a call is sent; below 2, no retries.
	Attempts int
	Tracer   trace.TracerProvider
	Meters   metric.MeterProvider
	Logger   log.Logger
}

// Clients are the order service's connections to the services it needs.
type Clients struct {
	Users    userv1.UserServiceClient
	Products productv1.ProductServiceClient
	conns    []*ggrpc.ClientConn
}

// Close closes the connections.
func (c *Clients) Close() {
	for _, cc := range c.conns {
		_ = cc.Close()
	}
}

// NewClients dials the user and product services. Each connection's
// calls go through tracing and metrics, then retry.Client (its own retry
// budget; every call the order service makes is idempotent: reservations
// carry their ID), then circuitbreaker.Client, so that a retry is refused
// at once by an open breaker instead of waiting for a dead backend.
func NewClients(ctx context.Context, o ClientOptions) (*Clients, error) {
	c := &Clients{}
	dial := func(target string) (*ggrpc.ClientConn, error) {
		cc, err := grpc.DialInsecure(ctx,
			grpc.WithEndpoint(target),
			grpc.WithDiscovery(o.Discovery),
			grpc.WithTimeout(o.Timeout),
			grpc.WithLogger(o.Logger),
			grpc.WithMiddleware(
				tracing.Client(tracing.WithTracerProvider(o.Tracer)),
				metrics.Client(metrics.WithMeterProvider(o.Meters)),
				// A budget per service: a product outage spends product's,
				// not user's.
				retry.Client(retry.WithAttempts(o.Attempts), retry.WithBudget(budget.New()),
					retry.WithMeterProvider(o.Meters)),
				circuitbreaker.Client(circuitbreaker.WithMeterProvider(o.Meters)),
			),
		)
		if err != nil {
			return nil, err
		}
		c.conns = append(c.conns, cc)
		return cc, nil
	}
	uc, err := dial(o.UserTarget)
	if err != nil {
		return nil, err
	}
	pc, err := dial(o.ProductTarget)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Users, c.Products = userv1.NewUserServiceClient(uc), productv1.NewProductServiceClient(pc)
	return c, nil
}
