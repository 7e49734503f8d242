package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/file"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// DefaultAddress is the public address when the configuration and the
// options name none, as in the tutorial.
const DefaultAddress = ":8000"

// Gateway routes requests to backends by a Config. It is an http.Handler
// and a transport.Server: run it in a zelos.App, or mount it.
//
// A new Config is swapped in atomically (Update, or the file's watch with
// Open): requests already routed finish on the routes they started with,
// and backends that stay in the new Config keep their connections and
// balancer state.
type Gateway struct {
	opts  options
	srv   *zhttp.Server
	cur   atomic.Pointer[table]
	pools *pools
	tr    *transports
	// buffers is ReverseProxy's copy buffers, shared by every endpoint.
	buffers *bufferPool

	mu      sync.Mutex // serializes Update
	watch   config.Config
	stopped bool
}

// Option configures a Gateway.
type Option func(*options)

type options struct {
	disco   registry.Discovery
	logger  log.Logger
	mp      metric.MeterProvider
	tp      trace.TracerProvider
	addr    string
	srvOpts []zhttp.ServerOption
	rt      http.RoundTripper
}

// WithDiscovery sets the registry discovery:/// backends are found in.
func WithDiscovery(d registry.Discovery) Option { return func(o *options) { o.disco = d } }

// WithLogger sets the logger of the gateway's own messages and access log.
func WithLogger(l log.Logger) Option { return func(o *options) { o.logger = l } }

// WithMeterProvider sets where per-route metrics go; the default is the
// global OpenTelemetry MeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// WithTracerProvider sets where per-route spans go; the default is the
// global OpenTelemetry TracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// Address overrides the configuration's listen address.
func Address(addr string) Option { return func(o *options) { o.addr = addr } }

// ServerOptions adds options to the gateway's HTTP server, such as
// zhttp.Listener or zhttp.TLSConfig.
func ServerOptions(opts ...zhttp.ServerOption) Option {
	return func(o *options) { o.srvOpts = append(o.srvOpts, opts...) }
}

// New returns a Gateway serving cfg, which ParseConfig or LoadConfig
// validated.
func New(cfg *Config, opts ...Option) (*Gateway, error) {
	o := options{logger: log.DefaultLogger}
	for _, opt := range opts {
		opt(&o)
	}
	if errs := validate(cfg); len(errs) > 0 {
		l := &loader{name: "config"}
		return nil, l.problems(errs)
	}
	g := &Gateway{opts: o, tr: newTransports(), buffers: &bufferPool{}}
	g.pools = &pools{byKey: map[string]*pool{}, disco: o.disco, logger: o.logger}
	t, err := g.compile(cfg)
	if err != nil {
		return nil, err
	}
	g.cur.Store(t)
	addr := o.addr
	if addr == "" {
		addr = cfg.Listen
	}
	if addr == "" {
		addr = DefaultAddress
	}
	so := append([]zhttp.ServerOption{
		zhttp.Address(addr),
		zhttp.Logger(o.logger),
		zhttp.ConfigureServer(func(s *http.Server) {
			// gRPC and h2c clients speak HTTP/2 without TLS.
			s.Protocols = new(http.Protocols)
			s.Protocols.SetHTTP1(true)
			s.Protocols.SetUnencryptedHTTP2(true)
			if s.TLSConfig != nil {
				s.Protocols.SetHTTP2(true)
			}
		}),
		// Every path is the gateway's: the server's own routes are only
		// its probes, which it serves before falling back to these.
		zhttp.NotFoundHandler(http.HandlerFunc(g.serve)),
		zhttp.MethodNotAllowedHandler(http.HandlerFunc(g.serve)),
	}, o.srvOpts...)
	g.srv = zhttp.NewServer(so...)
	return g, nil
}

// Open loads the configuration file at path, serves it, and watches the
// file through Zelos's config package: a changed file is validated and
// swapped in; an invalid one is refused, with its file:line problems
// logged, and the running configuration stays.
func Open(path string, opts ...Option) (*Gateway, error) {
	l := &loader{}
	o := options{logger: log.DefaultLogger}
	for _, opt := range opts {
		opt(&o)
	}
	c, cfg, err := l.load(file.NewSource(path), o.logger)
	if err != nil {
		return nil, err
	}
	g, err := New(cfg, opts...)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	g.watch = c
	err = c.Watch("", func(string, config.Value) {
		cfg, err := l.scan(c)
		if err == nil {
			err = g.Update(cfg)
		}
		if err != nil {
			_ = o.logger.Log(log.LevelError, "msg", "gateway: configuration refused; the running one stays", "file", path, "error", err)
			return
		}
		_ = o.logger.Log(log.LevelInfo, "msg", "gateway: configuration reloaded", "file", path, "endpoints", len(cfg.Endpoints))
	})
	if err != nil {
		_ = g.Close()
		return nil, err
	}
	return g, nil
}

// Update validates cfg and swaps it in. Requests already routed finish on
// the old routes; pools (and their connections) the new configuration
// does not use are closed once those requests are done.
func (g *Gateway) Update(cfg *Config) error {
	if errs := validate(cfg); len(errs) > 0 {
		l := &loader{name: "config"}
		return l.problems(errs)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return errors.New(http.StatusServiceUnavailable, "GATEWAY_STOPPED", "gateway: stopped")
	}
	t, err := g.compile(cfg)
	if err != nil {
		return err
	}
	old := g.cur.Swap(t)
	go g.retire(old)
	return nil
}

// retire releases an old table's pools once its requests are done. Long
// streams keep it alive; it is checked every 100ms.
func (g *Gateway) retire(t *table) {
	for t.inflight.Load() > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	g.pools.release(t.pools)
}

// ServeHTTP serves a request: the probes, then the routes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.srv.ServeHTTP(w, r) }

// Start listens and serves until Stop.
func (g *Gateway) Start(ctx context.Context) error { return g.srv.Start(ctx) }

// Stop stops serving gracefully, then closes the backends' connections.
func (g *Gateway) Stop(ctx context.Context) error {
	err := g.srv.Stop(ctx)
	if cerr := g.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops watching the configuration and closes every pool. It does
// not stop the listener (Stop does both).
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return nil
	}
	g.stopped = true
	w := g.watch
	g.mu.Unlock()
	if w != nil {
		_ = w.Close()
	}
	if t := g.cur.Load(); t != nil {
		g.pools.release(t.pools)
	}
	g.tr.close()
	return nil
}

// Endpoint returns the gateway's URL once it listens.
func (g *Gateway) Endpoint() (*url.URL, error) { return g.srv.Endpoint() }

// routeError is the reply to a request that matches no endpoint.
func routeError(r *http.Request, allowed []string) error {
	if len(allowed) > 0 {
		return errors.Newf(http.StatusMethodNotAllowed, zhttp.ReasonMethodNotAllowed, "gateway: %s is not allowed on %s", r.Method, r.URL.Path).
			WithMetadata(map[string]string{"allow": fmt.Sprint(allowed)})
	}
	return errors.Newf(http.StatusNotFound, zhttp.ReasonNotFound, "gateway: no route for %s %s", r.Method, r.URL.Path)
}
