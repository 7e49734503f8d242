// Package admin is the admin server of a Zelos service: a separate
// listener, off the public port and on loopback by default, for operators
// and scrapers, in the manner of go-zero's dev server. It serves
//
//   - /metrics, with the handler given to Metrics (such as
//     contrib/metrics/prometheus's Handler);
//   - /debug/pprof/ and its profiles (net/http/pprof), unless Pprof(false);
//   - /healthz and /readyz, the App's probes; /readyz?verbose names the
//     failing checks with their errors, which the public port's probes do
//     not show;
//   - any handler added with Handle.
//
// Run it as one of the App's servers:
//
//	reg := prometheus.NewRegistry()
//	adm := admin.NewServer(admin.Address("127.0.0.1:9090"), admin.Metrics(zprom.Handler(reg)))
//	app := zelos.New(zelos.Server(httpSrv, grpcSrv, adm))
//
// It is not a transport.Endpointer, so that the App never registers its
// address in the service registry: clients must not find it. It does not
// depend on any metrics library: it takes handlers.
package admin

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport"
)

var _ transport.Server = (*Server)(nil)

// DefaultAddress is the default listen address: loopback only, on the port
// the tutorial's metrics server uses.
const DefaultAddress = "127.0.0.1:9090"

// Option configures a Server.
type Option func(*Server)

// Address sets the listen address, DefaultAddress by default. Listening on
// all interfaces (":9090") exposes pprof to whoever reaches the port.
func Address(addr string) Option { return func(s *Server) { s.address = addr } }

// Listener makes the server serve on lis instead of listening on Address.
func Listener(lis net.Listener) Option { return func(s *Server) { s.lis = lis } }

// Metrics serves h on /metrics. Without it there is no /metrics.
func Metrics(h http.Handler) Option { return Handle("/metrics", h) }

// Handle serves h on pattern, a net/http ServeMux pattern such as
// "/debug/vars" or "GET /config".
func Handle(pattern string, h http.Handler) Option {
	return func(s *Server) { s.extra = append(s.extra, route{pattern, h}) }
}

// Pprof turns the /debug/pprof/ handlers on (the default) or off.
func Pprof(enabled bool) Option { return func(s *Server) { s.pprof = enabled } }

// Logger sets the logger of the server's own events, log.DefaultLogger by
// default.
func Logger(l log.Logger) Option { return func(s *Server) { s.logger = l } }

type route struct {
	pattern string
	h       http.Handler
}

// Server is the admin server, a transport.Server.
type Server struct {
	address string
	pprof   bool
	extra   []route
	logger  log.Logger

	mu      sync.Mutex
	lis     net.Listener
	hs      *http.Server
	stopped bool
	status  *health.Status // readiness; the App's, once Start has run
	own     bool           // status is the server's own, not an App's
}

// NewServer returns an admin server configured by opts.
func NewServer(opts ...Option) *Server {
	s := &Server{address: DefaultAddress, pprof: true, logger: log.DefaultLogger}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Addr returns the address the server listens on, listening first if
// needed (Start then reuses the listener), so that a ":0" address gives the
// real port.
func (s *Server) Addr() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.listenLocked(); err != nil {
		return nil, err
	}
	return s.lis.Addr(), nil
}

func (s *Server) listenLocked() error {
	if s.lis != nil {
		return nil
	}
	if s.stopped {
		return fmt.Errorf("transport/admin: listen on %q: the server is stopped", s.address)
	}
	lis, err := net.Listen("tcp", s.address)
	if err != nil {
		return fmt.Errorf("transport/admin: listen on %q: %w", s.address, err)
	}
	s.lis = lis
	return nil
}

// handler builds the mux. The user's handlers are added last, so that a
// pattern of theirs that collides with a built-in one panics at Start, as
// net/http's ServeMux does, rather than silently replacing it.
func (s *Server) handler(st *health.Status) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health.LivenessHandler())
	mux.Handle("GET /readyz", health.ReadinessHandler(st, health.WithErrorDetails()))
	if s.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	for _, r := range s.extra {
		mux.Handle(r.pattern, r.h)
	}
	return mux
}

// Start listens (unless Addr did) and serves until Stop. Its readiness
// probe follows the App whose health.Status is in ctx, else the server
// itself: ready from Start until Stop. It returns nil after Stop, and at
// once if Stop came first.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	if s.hs != nil {
		s.mu.Unlock()
		return errors.New("transport/admin: server already started")
	}
	if err := s.listenLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	st, own := health.ForServer(ctx)
	s.status, s.own = st, own
	hs := &http.Server{
		Handler:           s.handler(st),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          stdlog.New(logWriter{s.logger}, "transport/admin: ", 0),
	}
	s.hs = hs
	lis := s.lis
	s.mu.Unlock()

	_ = s.logger.Log(log.LevelInfo, "msg", "admin server listening", "addr", lis.Addr().String(), "pprof", s.pprof)
	if err := hs.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("transport/admin: serving on %s: %w", lis.Addr(), err)
	}
	return nil
}

// Stop shuts the server down gracefully, waiting for in-flight requests (a
// CPU profile being taken, say) until ctx is done, when it closes the
// remaining connections.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	hs, lis := s.hs, s.lis
	if s.own && s.status != nil {
		s.status.Set(health.Stopping)
	}
	s.mu.Unlock()
	if hs == nil {
		if lis != nil {
			_ = lis.Close()
		}
		return nil
	}
	if err := hs.Shutdown(ctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("transport/admin: graceful shutdown: %w", err)
	}
	return nil
}

// logWriter feeds net/http's error log into a Logger.
type logWriter struct{ l log.Logger }

// Write logs p as one error record.
func (w logWriter) Write(p []byte) (int, error) {
	_ = w.l.Log(log.LevelError, "msg", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
