// Package kit wires a shop service the way every one of them runs: an HTTP
// and a gRPC server behind the same middleware chain (tracing, metrics,
// recovery, logging, metadata, validation), an admin server with
// Prometheus's /metrics and the probes, traces to OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, and a zelos.App that registers the
// service and drains before it stops.
//
//	svc, err := kit.New(ctx, kit.Options{Server: bc.Server, Logger: logger, Registrar: reg})
//	v1.RegisterUserServiceServer(svc.GRPC, users)
//	v1.RegisterUserServiceHTTPServer(svc.HTTP, users)
//	app := svc.App()
//	defer svc.Close()
//	err = app.Run()
package kit

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/zelos-go/zelos"
	zprom "github.com/zelos-go/zelos/contrib/metrics/prometheus"
	"github.com/zelos-go/zelos/contrib/otel/otlp"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/logging"
	mdmw "github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/middleware/recovery"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/middleware/validate"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/admin"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

// Options configures New.
type Options struct {
	// Server is the service's server configuration.
	Server conf.Server
	// HTTPAddr, GRPCAddr and AdminAddr, when set, replace the addresses
	// of Server (tests pass "127.0.0.1:0").
	HTTPAddr, GRPCAddr, AdminAddr string
	// Logger receives the service's logs; nil means log.DefaultLogger.
	Logger log.Logger
	// Registrar registers the service; nil registers nowhere.
	Registrar registry.Registrar
	// Middleware runs after the standard chain, next to the handlers.
	Middleware []middleware.Middleware
	// HealthChecks are readiness checks, such as a database ping.
	HealthChecks []health.Check
}

// Service is a service's servers and telemetry, ready for its handlers to
// be registered on HTTP and GRPC before App runs.
type Service struct {
	HTTP  *http.Server
	GRPC  *grpc.Server
	Admin *admin.Server // nil when server.admin.addr is empty
	// Logger is Options.Logger.
	Logger log.Logger
	// Tracer and Meters are what the service's own clients (order's
	// clients of user and product) should trace and meter with.
	Tracer trace.TracerProvider
	Meters metric.MeterProvider
	// Prometheus is the registry /metrics serves.
	Prometheus *prometheus.Registry

	ctx     context.Context
	opts    Options
	drain   time.Duration
	stop    time.Duration
	closers []func()
}

// defaultStopTimeout bounds the graceful stop when server.stop_timeout is
// empty, as the shop contract sets (10 s, under Kubernetes' 30 s grace).
const defaultStopTimeout = 10 * time.Second

// New builds the servers. ctx is the App's parent: cancelling it stops
// the App. Close releases the telemetry; call it after the App stopped.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = log.DefaultLogger
	}
	s := &Service{ctx: ctx, opts: o, Logger: o.Logger}
	var err error
	if s.drain, err = conf.Duration("server.drain_delay", o.Server.DrainDelay); err != nil {
		return nil, err
	}
	if s.stop, err = conf.Duration("server.stop_timeout", o.Server.StopTimeout); err != nil {
		return nil, err
	}
	if s.stop == 0 {
		s.stop = defaultStopTimeout
	}
	httpTimeout, err := conf.Duration("server.http.timeout", o.Server.HTTP.Timeout)
	if err != nil {
		return nil, err
	}
	grpcTimeout, err := conf.Duration("server.grpc.timeout", o.Server.GRPC.Timeout)
	if err != nil {
		return nil, err
	}
	if err := s.telemetry(); err != nil {
		return nil, err
	}
	chain := s.chain()
	s.HTTP = http.NewServer(
		http.Address(pick(o.HTTPAddr, o.Server.HTTP.Addr)),
		http.Timeout(httpTimeout),
		http.Logger(o.Logger),
		http.Middleware(chain...),
	)
	s.GRPC = grpc.NewServer(
		grpc.Address(pick(o.GRPCAddr, o.Server.GRPC.Addr)),
		grpc.Timeout(grpcTimeout),
		grpc.Logger(o.Logger),
		grpc.Middleware(chain...),
	)
	if addr := pick(o.AdminAddr, o.Server.Admin.Addr); addr != "" {
		s.Admin = admin.NewServer(
			admin.Address(addr),
			admin.Metrics(zprom.Handler(s.Prometheus)),
			admin.Logger(o.Logger),
		)
	}
	return s, nil
}

func pick(override, configured string) string {
	if override != "" {
		return override
	}
	return configured
}

// chain is the server middleware, outermost first. Tracing and metrics
// are outside recovery so that spans and metrics see the 500 a panic
// becomes. Logging never logs the requests (no WithArgs): user's carry
// passwords.
func (s *Service) chain() []middleware.Middleware {
	return append([]middleware.Middleware{
		tracing.Server(tracing.WithTracerProvider(s.Tracer)),
		metrics.Server(metrics.WithMeterProvider(s.Meters)),
		recovery.Recovery(recovery.WithLogger(s.Logger)),
		logging.Server(s.Logger),
		mdmw.Server(),
		validate.Validator(),
	}, s.opts.Middleware...)
}

// telemetry sets up the service's Prometheus registry and meters, and the
// OTLP tracer when OTEL_EXPORTER_OTLP_ENDPOINT is set (a no-op one
// otherwise). Each service has its own, so that one process running all
// of them still reports each under its own name.
func (s *Service) telemetry() error {
	s.Prometheus = prometheus.NewRegistry()
	s.Prometheus.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mp, err := zprom.NewMeterProvider(s.Prometheus)
	if err != nil {
		return err
	}
	s.Meters = mp
	s.OnClose(func() { _ = mp.Shutdown(context.Background()) })
	s.Tracer = noop.NewTracerProvider()
	if !otlp.Enabled() {
		return nil
	}
	tp, err := otlp.NewTracerProvider(s.ctx,
		otlp.WithServiceName(s.opts.Server.Name), otlp.WithServiceVersion(s.opts.Server.Version))
	if err != nil {
		s.Close()
		return err
	}
	s.Tracer = tp
	_ = s.Logger.Log(log.LevelInfo, "msg", "tracing to OTLP", "endpoint", os.Getenv(otlp.EndpointEnv))
	s.OnClose(func() {
		// Flush the last spans, but do not hold up the exit for long
		// if the collector is gone.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			_ = s.Logger.Log(log.LevelWarn, "msg", "flushing the last spans failed", "error", err.Error())
		}
	})
	return nil
}

// OnClose adds fn to what Close runs (in reverse order of adding).
func (s *Service) OnClose(fn func()) { s.closers = append(s.closers, fn) }

// Close runs the OnClose functions, the last added first.
func (s *Service) Close() {
	for _, fn := range slices.Backward(s.closers) {
		fn()
	}
	s.closers = nil
}

// App returns the App that runs the servers, registered in
// Options.Registrar under server.name, draining for server.drain_delay
// before it stops. opts come after the defaults, so they override them.
func (s *Service) App(opts ...zelos.Option) *zelos.App {
	servers := []transport.Server{s.HTTP, s.GRPC}
	if s.Admin != nil {
		servers = append(servers, s.Admin)
	}
	base := []zelos.Option{
		zelos.Context(s.ctx),
		zelos.Name(s.opts.Server.Name),
		zelos.Version(s.opts.Server.Version),
		zelos.Logger(s.Logger),
		zelos.Server(servers...),
		zelos.DrainDelay(s.drain),
		zelos.StopTimeout(s.stop),
	}
	if s.opts.Registrar != nil {
		base = append(base, zelos.Registrar(s.opts.Registrar))
	}
	for _, c := range s.opts.HealthChecks {
		base = append(base, zelos.HealthCheck(c.Name, c.Func))
	}
	return zelos.New(append(base, opts...)...)
}

// Closers runs release functions in reverse order of adding, once: what a
// NewApp returns as its cleanup, and runs itself when it fails half-way.
type Closers []func()

// Add adds fn.
func (l *Closers) Add(fn func()) { *l = append(*l, fn) }

// Run runs the functions, the last added first, and forgets them.
func (l *Closers) Run() {
	for _, fn := range slices.Backward(*l) {
		fn()
	}
	*l = nil
}
