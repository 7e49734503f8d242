package http

import (
	"context"
	"crypto/tls"
	stderrors "errors"
	"fmt"
	stdlog "log"
	"net"
	nethttp "net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/deadline"
	"github.com/zelos-go/zelos/internal/host"
	"github.com/zelos-go/zelos/internal/pathtpl"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

var (
	_ transport.Server     = (*Server)(nil)
	_ transport.Endpointer = (*Server)(nil)
	_ nethttp.Handler      = (*Server)(nil)
)

// DefaultMaxBodySize is the default MaxBodySize: 4 MiB.
const DefaultMaxBodySize = 4 << 20

// FilterFunc is net/http middleware. Server filters wrap every request,
// before routing; Router filters wrap the routes of their Router.
type FilterFunc func(nethttp.Handler) nethttp.Handler

// ServerOption configures a Server.
type ServerOption func(*Server)

// Network sets the listener's network, "tcp" by default.
func Network(network string) ServerOption { return func(s *Server) { s.network = network } }

// Address sets the listen address, ":0" (a free port) by default.
func Address(addr string) ServerOption { return func(s *Server) { s.address = addr } }

// Listener makes the server serve on lis instead of listening itself.
func Listener(lis net.Listener) ServerOption { return func(s *Server) { s.lis = lis } }

// Timeout bounds each request: its context is canceled after d. Zero, the
// default, means no bound.
func Timeout(d time.Duration) ServerOption { return func(s *Server) { s.timeout = d } }

// Middleware sets the server middleware chain. It wraps every route,
// including plain net/http handlers (with the *nethttp.Request as the
// request and the path template as the operation).
func Middleware(m ...middleware.Middleware) ServerOption {
	return func(s *Server) { s.ms = append(s.ms, m...) }
}

// Filter adds net/http middleware run for every request, before routing.
// The first filter is the outermost.
func Filter(f ...FilterFunc) ServerOption {
	return func(s *Server) { s.filters = append(s.filters, f...) }
}

// TLSConfig makes the server serve HTTPS with c, which must hold the
// certificates.
func TLSConfig(c *tls.Config) ServerOption { return func(s *Server) { s.tlsConf = c } }

// PathPrefix puts every route of the server under prefix, such as "/api".
func PathPrefix(prefix string) ServerOption {
	return func(s *Server) { s.prefix = strings.TrimSuffix(prefix, "/") }
}

// NotFoundHandler replaces the 404 NOT_FOUND error reply.
func NotFoundHandler(h nethttp.Handler) ServerOption { return func(s *Server) { s.notFound = h } }

// MethodNotAllowedHandler replaces the 405 METHOD_NOT_ALLOWED error reply.
// The Allow header is set before h runs.
func MethodNotAllowedHandler(h nethttp.Handler) ServerOption {
	return func(s *Server) { s.methodNotAllowed = h }
}

// ResponseEncoder sets how replies are written; DefaultResponseEncoder by
// default. RouteResponseEncoder overrides it for one route.
func ResponseEncoder(enc EncodeResponseFunc) ServerOption {
	return func(s *Server) { s.encoder = enc }
}

// ErrorEncoder sets how errors are written; DefaultErrorEncoder by default.
// RouteErrorEncoder overrides it for one route.
func ErrorEncoder(enc EncodeErrorFunc) ServerOption {
	return func(s *Server) { s.errorEncoder = enc }
}

// RequestDecoder sets how request bodies are decoded (Context.Bind);
// DefaultRequestDecoder by default.
func RequestDecoder(dec DecodeRequestFunc) ServerOption {
	return func(s *Server) { s.decoder = dec }
}

// MaxBodySize bounds request bodies; a larger body is a 413 BODY_TOO_LARGE
// error. The default is DefaultMaxBodySize; zero or less means no bound.
func MaxBodySize(n int64) ServerOption { return func(s *Server) { s.maxBody = n } }

// BodyTimeout bounds the time a request's body may take to arrive,
// counted from when its headers were read: past it, reading the body fails
// with a 408 BODY_TIMEOUT error and the connection is closed after the
// reply, so that a client trickling its body cannot hold a connection. The
// default is DefaultBodyTimeout; zero or less means no bound. Requests
// without a body are not concerned, nor is a reply's duration (streams
// outlive it): it bounds reading, not serving. A net/http ReadTimeout set
// with ConfigureServer replaces it.
func BodyTimeout(d time.Duration) ServerOption { return func(s *Server) { s.bodyTimeout = d } }

// RequestCodecs sets the codecs request bodies may be encoded with, by
// name: "json", "proto", "xml", "form" (URL-encoded), "multipart", "yaml",
// or the name of a codec registered under application/NAME. A body whose
// Content-Type names another codec is a 415 UNSUPPORTED_MEDIA_TYPE error
// before the RequestDecoder runs; types no codec is known for are left to
// the RequestDecoder. The default is json, proto, xml, form and multipart:
// YAML is left out on purpose, as decoding it costs far more CPU per byte
// than the others, so a server that accepts it should say so
// (RequestCodecs("json", "yaml")) and keep MaxBodySize small. With no
// names, every body of a known type is refused. Replies are not concerned:
// YAML replies are still sent to clients that ask.
func RequestCodecs(names ...string) ServerOption {
	return func(s *Server) { s.reqCodecs = slices.Clone(names) }
}

// Logger sets the logger of server events (start, stop, errors that can no
// longer be sent to the client). The default is log.DefaultLogger.
func Logger(l log.Logger) ServerOption { return func(s *Server) { s.logger = l } }

// ConfigureServer lets f adjust the underlying *nethttp.Server before it
// starts, for settings without an option of their own (WriteTimeout,
// ConnState, HTTP/2 settings, ...). The defaults are ReadHeaderTimeout 10s,
// IdleTimeout 120s and MaxHeaderBytes 1 MiB; Handler is the Server.
func ConfigureServer(f func(*nethttp.Server)) ServerOption {
	return func(s *Server) { s.configure = append(s.configure, f) }
}

// Server is an HTTP server: a router of google.api.http path templates with
// the Zelos middleware chain, body binding and content negotiation. It is a
// transport.Server, a transport.Endpointer and a nethttp.Handler.
type Server struct {
	network, address string
	tlsConf          *tls.Config
	timeout          time.Duration
	ms               []middleware.Middleware
	filters          []FilterFunc
	prefix           string
	notFound         nethttp.Handler
	methodNotAllowed nethttp.Handler
	encoder          EncodeResponseFunc
	errorEncoder     EncodeErrorFunc
	decoder          DecodeRequestFunc
	maxBody          int64
	bodyTimeout      time.Duration
	reqCodecs        []string
	logger           log.Logger
	configure        []func(*nethttp.Server)
	probes           probeSet // health.go

	handler nethttp.Handler // the filters around dispatch
	tree    atomic.Pointer[pathtpl.Tree[*route]]

	preflight preflightRoute // OPTIONS requests no route matches

	endpointStr atomic.Pointer[string]

	mu       sync.Mutex // guards the fields below and route registration
	lis      net.Listener
	endpoint *url.URL
	hs       *nethttp.Server
	serving  bool // Serve is running; Stop says "stopping" only then
	stopped  bool

	// streamCtx is canceled by Stop to end SSE streams and WebSockets.
	streamCtx     context.Context
	cancelStreams context.CancelFunc
	streams       streamSet // hijacked WebSocket connections
}

// NewServer returns a server configured by opts. Routes are added with
// Route, Handle, HandleFunc, HandlePrefix, Unary and ServerStream.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{
		network:      "tcp",
		address:      ":0",
		encoder:      DefaultResponseEncoder,
		errorEncoder: DefaultErrorEncoder,
		decoder:      DefaultRequestDecoder,
		maxBody:      DefaultMaxBodySize,
		bodyTimeout:  DefaultBodyTimeout,
		reqCodecs:    defaultRequestCodecs,
		logger:       log.DefaultLogger,
	}
	s.probes.init()
	for _, o := range opts {
		o(s)
	}
	s.streamCtx, s.cancelStreams = context.WithCancel(context.Background())
	s.tree.Store(&pathtpl.Tree[*route]{})
	var h nethttp.Handler = nethttp.HandlerFunc(s.dispatch)
	for i := len(s.filters) - 1; i >= 0; i-- {
		h = s.filters[i](h)
	}
	s.handler = h
	return s
}

// ServeHTTP routes and serves a request.
func (s *Server) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	if s.bodyTimeout > 0 && r.Body != nil && r.Body != nethttp.NoBody {
		limitBodyTime(w, r, s.bodyTimeout)
	}
	if len(s.filters) == 0 {
		s.dispatch(w, r) // dispatch answers the panics of routes itself
		return
	}
	// Only the filters' panics reach here; whether the reply has started
	// is known from whether dispatch ran, which it records in st. That
	// costs a context and a request copy, so servers without filters skip
	// it.
	st := &filterState{Context: r.Context()}
	defer s.recoverFilter(w, r, st)
	s.handler.ServeHTTP(w, r.WithContext(st))
}

// filterState is the context server filters pass on to dispatch; it
// records whether dispatch ran.
type filterState struct {
	context.Context
	routed bool
}

// Value implements context.Context.
func (st *filterState) Value(key any) any {
	if _, ok := key.(filterStateKey); ok {
		return st
	}
	return st.Context.Value(key)
}

type filterStateKey struct{}

// recoverFilter answers a panic of a server filter: a 500 PANIC error if
// no route ran yet, else the connection is cut, as the reply may have
// started.
func (s *Server) recoverFilter(w nethttp.ResponseWriter, r *nethttp.Request, st *filterState) {
	v := recover()
	if v == nil {
		return
	}
	if v == nethttp.ErrAbortHandler {
		panic(v)
	}
	err := s.logPanic(v, r.URL.Path)
	if st.routed {
		panic(nethttp.ErrAbortHandler)
	}
	s.errorEncoder(w, r, err)
}

// logPanic logs a recovered panic with its stack and returns the error it
// is answered with: a 500 PANIC, as the recovery middleware answers.
func (s *Server) logPanic(v any, op string) error {
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	_ = s.logger.Log(log.LevelError, "msg", "transport/http: panic serving a request", "operation", op,
		"panic", fmt.Sprint(v), "stack", string(buf))
	return errors.InternalServer(ReasonPanic, "internal server error").WithCause(fmt.Errorf("transport/http: panic: %v", v))
}

// dispatch finds the route and serves it.
func (s *Server) dispatch(w nethttp.ResponseWriter, r *nethttp.Request) {
	if len(s.filters) > 0 {
		if st, ok := r.Context().Value(filterStateKey{}).(*filterState); ok {
			st.routed = true
		}
	}
	path := r.URL.EscapedPath()
	e, vpath := s.tree.Load().Match(r.Method, path)
	if e == nil {
		s.noRoute(w, r, path)
		return
	}
	rt := e.Value
	c := &reqCtx{rt: rt, req: r, op: rt.op, parent: r.Context()}
	c.sw.ResponseWriter = w
	c.cur = c.base()
	if len(rt.tpl.Variables) > 0 {
		c.raw = rt.tpl.AppendValues(c.rawBuf[:0], vpath)
	}
	if dl, ok := s.requestDeadline(r); ok { // deadline.go: Timeout and the caller's TimeoutHeader
		dc := deadline.New(c.parent, dl)
		defer dc.Release()
		c.parent = dc
	}
	defer c.end(r)
	if rt.filtered != nil {
		rt.filtered.ServeHTTP(w, r.WithContext(c.base()))
	} else {
		rt.serve(c)
	}
}

// end runs when a route is done, normally or by a panic. It answers a panic
// of the route's filters, middleware or handler (they are not all covered
// by the recovery middleware): with a 500 PANIC error if the reply has not
// started, an error event on an event stream, and otherwise by cutting
// the connection, so that the client sees a broken reply rather than a
// short one. It then ends the event stream and removes the temporary files
// of a multipart form parsed on a request copy.
func (c *reqCtx) end(orig *nethttp.Request) {
	v := recover()
	abort := false
	if v != nil {
		if v == nethttp.ErrAbortHandler {
			abort = true
		} else {
			err := c.rt.srv.logPanic(v, c.op)
			switch {
			case !c.committed():
				c.rt.errorEncoder(c.sw.ResponseWriter, c.req, err)
			case c.sse != nil:
				_ = c.sse.Send(Event{Event: "error", Data: errorJSON(err)})
			default:
				abort = true
			}
		}
	}
	if c.sse != nil {
		_ = c.sse.Close()
	}
	if c.req != orig && c.req.MultipartForm != nil {
		// net/http cleans up the form of the request it made only.
		_ = c.req.MultipartForm.RemoveAll()
	}
	if abort {
		panic(nethttp.ErrAbortHandler)
	}
}

// serveFiltered is the handler inside a route's filters.
func (rt *route) serveFiltered(w nethttp.ResponseWriter, r *nethttp.Request) {
	c, ok := r.Context().Value(ctxKey{}).(*reqCtx)
	if !ok {
		rt.srv.errorEncoder(w, r, errors.InternalServer("CONTEXT_LOST", "a route filter replaced the request context"))
		return
	}
	c.req, c.cur = r, r.Context()
	c.sw.ResponseWriter = w
	rt.serve(c)
}

// serve runs the route's handler and writes its error: as the reply if it
// has not started, as an error event on an event stream.
func (rt *route) serve(c *reqCtx) {
	err := rt.handle(c)
	if err == nil {
		return
	}
	if !c.committed() {
		rt.errorEncoder(c.sw.ResponseWriter, c.req, err)
		return
	}
	if c.sse != nil {
		_ = c.sse.Send(Event{Event: "error", Data: errorJSON(err)})
	}
	var ws *writtenStatus
	if se := errors.FromError(err); se.Code >= 500 && !stderrors.As(err, &ws) {
		_ = c.rt.srv.logger.Log(log.LevelError, "msg", "transport/http: error after the reply started",
			"operation", c.op, "error", err.Error())
	}
}

// noRoute writes 404 or 405, after the middleware chain for OPTIONS
// (preflight.go).
func (s *Server) noRoute(w nethttp.ResponseWriter, r *nethttp.Request, path string) {
	if s.probes.serve(w, r, path) {
		return
	}
	if r.Method == nethttp.MethodOptions && s.servePreflight(w, r, path) {
		return
	}
	s.noRouteReply(w, r, path)
}

// noRouteReply writes 404 or 405.
func (s *Server) noRouteReply(w nethttp.ResponseWriter, r *nethttp.Request, path string) {
	var buf [8]string
	allowed := s.tree.Load().Allowed(path, buf[:0])
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		if s.methodNotAllowed != nil {
			s.methodNotAllowed.ServeHTTP(w, r)
			return
		}
		s.errorEncoder(w, r, errors.New(nethttp.StatusMethodNotAllowed, ReasonMethodNotAllowed,
			"method "+r.Method+" not allowed for "+r.URL.Path))
		return
	}
	if s.notFound != nil {
		s.notFound.ServeHTTP(w, r)
		return
	}
	s.errorEncoder(w, r, errors.NotFound(ReasonNotFound, "no route for "+r.Method+" "+r.URL.Path))
}

// Start listens (unless Endpoint did) and serves until Stop. It returns nil
// after Stop, and at once if Stop was called before.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	if s.hs != nil {
		s.mu.Unlock()
		return stderrors.New("transport/http: server already started")
	}
	if err := s.listenLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	hs := &nethttp.Server{
		Handler:           s,
		TLSConfig:         s.tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          stdlog.New(logWriter{s.logger}, "", 0),
	}
	for _, f := range s.configure {
		f(hs)
	}
	if hs.ReadTimeout > 0 {
		// net/http bounds the whole request then; a body deadline set per
		// request would replace that bound, and lifting it would remove it.
		// Written before Serve starts the goroutines that read it.
		s.bodyTimeout = 0
	}
	s.hs, s.serving = hs, true
	lis, u := s.lis, s.endpoint
	s.probes.start(ctx)
	s.mu.Unlock()

	_ = s.logger.Log(log.LevelInfo, "msg", "HTTP server listening", "addr", lis.Addr().String(), "endpoint", u.String())
	var err error
	if s.tlsConf != nil {
		err = hs.ServeTLS(lis, "", "")
	} else {
		err = hs.Serve(lis)
	}
	if stderrors.Is(err, nethttp.ErrServerClosed) {
		return nil
	}
	s.mu.Lock()
	s.serving = false
	s.mu.Unlock()
	return fmt.Errorf("transport/http: serving on %s: %w", lis.Addr(), err)
}

// Stop shuts the server down gracefully: it stops accepting, ends SSE
// streams and WebSockets (their contexts are canceled), and waits for
// in-flight requests until ctx is done, when it closes the remaining
// connections.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	hs, lis, serving := s.hs, s.lis, s.serving
	s.mu.Unlock()
	s.probes.stop()
	s.cancelStreams()
	if hs == nil {
		if lis != nil {
			_ = lis.Close()
		}
		return s.streams.wait(ctx)
	}
	if serving {
		_ = s.logger.Log(log.LevelInfo, "msg", "HTTP server stopping")
	}
	err := hs.Shutdown(ctx)
	if err != nil {
		_ = hs.Close()
		err = fmt.Errorf("transport/http: graceful shutdown: %w", err)
	}
	if werr := s.streams.wait(ctx); werr != nil && err == nil {
		err = fmt.Errorf("transport/http: waiting for websockets: %w", werr)
	}
	return err
}

// Endpoint returns the URL the server is reachable at, such as
// http://192.168.1.10:8000, listening first if needed (Start then reuses the
// listener). For an address without a host or with an unspecified one
// (0.0.0.0, ::) the host is the first private IP of the machine, or
// 127.0.0.1; the port is the real one for ":0". It fails once Stop was
// called if the server never listened.
func (s *Server) Endpoint() (*url.URL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.listenLocked(); err != nil {
		return nil, err
	}
	u := *s.endpoint
	return &u, nil
}

func (s *Server) listenLocked() error {
	if s.lis == nil {
		if s.stopped {
			// Nothing would close a listener opened now.
			return fmt.Errorf("transport/http: listen on %s %q: the server is stopped", s.network, s.address)
		}
		lis, err := net.Listen(s.network, s.address)
		if err != nil {
			return fmt.Errorf("transport/http: listen on %s %q: %w", s.network, s.address, err)
		}
		s.lis = lis
	}
	if s.endpoint == nil {
		scheme := "http"
		if s.tlsConf != nil {
			scheme = "https"
		}
		addr, err := host.Advertise(s.lis.Addr())
		if err != nil {
			return fmt.Errorf("transport/http: endpoint of listener %s: %w", s.lis.Addr(), err)
		}
		s.endpoint = &url.URL{Scheme: scheme, Host: addr}
		str := s.endpoint.String()
		s.endpointStr.Store(&str)
	}
	return nil
}

func (s *Server) endpointString() string {
	if p := s.endpointStr.Load(); p != nil {
		return *p
	}
	return ""
}

// logWriter feeds net/http's error log into a Logger.
type logWriter struct{ l log.Logger }

// Write logs p as one error record.
func (w logWriter) Write(p []byte) (int, error) {
	_ = w.l.Log(log.LevelError, "msg", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Handle mounts a net/http handler on a path template, which may start with
// a method ("GET /files/{name}"); without one it serves every method. The
// handler runs inside the server's filters and middleware chain (request:
// the *nethttp.Request; operation: the template), with a request whose
// context carries the middleware's values and whose PathValue returns the
// path variables.
func (s *Server) Handle(pattern string, h nethttp.Handler) {
	method, path := splitPattern(pattern)
	s.Route("").handlePlain(method, path, h)
}

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, h func(nethttp.ResponseWriter, *nethttp.Request)) {
	s.Handle(pattern, nethttp.HandlerFunc(h))
}

// HandlePrefix mounts h on every path under prefix (and prefix itself), for
// every method, like a net/http subtree pattern.
func (s *Server) HandlePrefix(prefix string, h nethttp.Handler) {
	method, path := splitPattern(prefix)
	path = strings.TrimSuffix(path, "/") + "/**"
	s.Route("").handlePlain(method, path, h)
}

// splitPattern splits "GET /path" into its method and path.
func splitPattern(p string) (method, path string) {
	if m, rest, ok := strings.Cut(p, " "); ok && !strings.HasPrefix(p, "/") {
		return strings.ToUpper(m), strings.TrimLeft(rest, " ")
	}
	return "", p
}
