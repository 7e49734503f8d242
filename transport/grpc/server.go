// Package grpc is Zelos's gRPC transport: a Server that runs Zelos
// middleware around every RPC and serves the health and reflection services,
// and client connections (Dial, DialInsecure) that run client middleware and
// can resolve discovery:///service targets through a registry.Discovery and
// a selector.Selector.
//
// Errors cross the wire as gRPC statuses: a handler returning an
// *errors.Error reaches a Zelos client as an *errors.Error with the same
// code, reason and metadata, and any gRPC client sees the matching status
// code and a google.rpc.ErrorInfo detail.
//
// # Middleware
//
// A server's Middleware runs around every RPC, unary or streaming, as the
// HTTP server's Middleware runs around every route, SSE and WebSocket ones
// included: recovery given there also recovers panics of stream handlers,
// so it cannot be forgotten for streams. UnaryMiddleware and
// StreamMiddleware add middleware for one kind of RPC only, run inside
// Middleware. The chains are built once, when the server or connection is
// created.
//
// Unary RPCs run the chain with the request message as req.
//
// Streaming RPCs run the chain once per stream, when the stream opens,
// around the whole stream handler: req is the stream (a
// google.golang.org/grpc.ServerStream on servers; nil on clients), the reply
// is nil (servers) or the opened grpc.ClientStream (clients), and the error
// is the handler's (servers) or the error opening the stream (clients). The
// usual middleware (recovery, logging, metadata, selector, validate) work
// unchanged on streams. A middleware that must not bound a whole stream,
// such as timeout.Server, belongs in UnaryMiddleware. A server stream
// middleware may replace req with its own grpc.ServerStream wrapper to see
// every message. A stream handler returning io.EOF (or an error wrapping
// it), as a handler that returns Recv's error does when the client closes
// its side, ends the stream normally: the chain sees a nil error and the
// client status OK.
//
// On clients, WithMiddleware is for unary calls and WithStreamMiddleware
// for streams.
//
// # Malformed requests
//
// A request message that does not decode fails the RPC with
// InvalidArgument (an *errors.Error of code 400 and reason
// ReasonInvalidMessage), as a malformed HTTP body fails with 400, rather
// than grpc-go's Internal.
package grpc

import (
	"context"
	"crypto/tls"
	stderrors "errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"

	"github.com/zelos-go/zelos/errors"
	zhealth "github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/internal/deadline"
	hostpkg "github.com/zelos-go/zelos/internal/host"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

var (
	_ transport.Server       = (*Server)(nil)
	_ transport.Endpointer   = (*Server)(nil)
	_ ggrpc.ServiceRegistrar = (*Server)(nil)
)

// ServerOption configures a Server.
type ServerOption func(*Server)

// Network sets the listener's network, "tcp" by default.
func Network(network string) ServerOption {
	return func(s *Server) { s.network = network }
}

// Address sets the listening address, ":0" (a free port) by default.
func Address(addr string) ServerOption {
	return func(s *Server) { s.address = addr }
}

// Listener makes the server serve on lis instead of listening on Network
// and Address.
func Listener(lis net.Listener) ServerOption {
	return func(s *Server) { s.lis = lis }
}

// Timeout sets a deadline on every unary RPC whose context has none or a
// later one. Zero, the default, sets none. Streams are not limited.
func Timeout(d time.Duration) ServerOption {
	return func(s *Server) { s.timeout = d }
}

// Middleware appends middleware run around every RPC: around the handler of
// unary RPCs and once per stream around the whole handler of streaming
// RPCs; see the package documentation.
func Middleware(m ...middleware.Middleware) ServerOption {
	return func(s *Server) { s.middleware = append(s.middleware, m...) }
}

// UnaryMiddleware appends middleware run around unary RPCs only, inside
// Middleware. It is for middleware that would be wrong around a whole
// stream, such as timeout.Server.
func UnaryMiddleware(m ...middleware.Middleware) ServerOption {
	return func(s *Server) { s.unaryMiddleware = append(s.unaryMiddleware, m...) }
}

// StreamMiddleware appends middleware run once per streaming RPC only,
// around the whole stream handler, inside Middleware; see the package
// documentation. Middleware already runs around streams: a middleware given
// to both runs twice.
func StreamMiddleware(m ...middleware.Middleware) ServerOption {
	return func(s *Server) { s.streamMiddleware = append(s.streamMiddleware, m...) }
}

// UnaryInterceptor appends gRPC unary interceptors, run inside the
// middleware chain's context (after it is set up, around the handler).
func UnaryInterceptor(in ...ggrpc.UnaryServerInterceptor) ServerOption {
	return func(s *Server) { s.unaryInts = append(s.unaryInts, in...) }
}

// StreamInterceptor appends gRPC stream interceptors, run after the stream
// middleware chain.
func StreamInterceptor(in ...ggrpc.StreamServerInterceptor) ServerOption {
	return func(s *Server) { s.streamInts = append(s.streamInts, in...) }
}

// TLSConfig makes the server serve TLS with c.
func TLSConfig(c *tls.Config) ServerOption {
	return func(s *Server) { s.tlsConf = c }
}

// Options appends raw grpc-go server options, applied after Zelos's own.
// Zelos servers decode every message with the proto codec, whatever the
// content-subtype, so that they can fail malformed requests with
// InvalidArgument; ggrpc.ForceServerCodecV2 given here replaces that codec
// (and such requests then fail with grpc-go's Internal).
func Options(opts ...ggrpc.ServerOption) ServerOption {
	return func(s *Server) { s.grpcOpts = append(s.grpcOpts, opts...) }
}

// Reflection turns the gRPC server reflection service on (the default) or
// off.
func Reflection(enabled bool) ServerOption {
	return func(s *Server) { s.reflection = enabled }
}

// DisableReflection is Reflection(false).
func DisableReflection() ServerOption { return Reflection(false) }

// Logger sets the logger of the server's own events (listening, serving
// errors). The default is log.DefaultLogger.
func Logger(l log.Logger) ServerOption {
	return func(s *Server) { s.logger = l }
}

// Server is a gRPC server. It is a grpc.ServiceRegistrar: register services
// on it before Start. It serves grpc.health.v1.Health, for the server ("")
// and every registered service, and, unless disabled, server reflection.
//
// Health follows the App the server runs in (the health.Status in the
// context of Start): NOT_SERVING until the App is ready, SERVING while it
// is, NOT_SERVING from the first moment of its stop, through the drain
// delay. The App's HealthChecks are not run: gRPC health reports the
// lifecycle only. A server run on its own reports SERVING from Start until
// Stop begins.
type Server struct {
	network, address string
	timeout          time.Duration
	tlsConf          *tls.Config
	middleware       []middleware.Middleware // unary and streams
	unaryMiddleware  []middleware.Middleware
	streamMiddleware []middleware.Middleware
	unaryInts        []ggrpc.UnaryServerInterceptor
	streamInts       []ggrpc.StreamServerInterceptor
	grpcOpts         []ggrpc.ServerOption
	reflection       bool
	logger           log.Logger

	srv    *ggrpc.Server
	health *health.Server
	unary  middleware.Handler // the unary chain, built once
	stream middleware.Handler // the stream chain, built once

	mu       sync.Mutex
	lis      net.Listener
	endpoint *url.URL
	epString string // endpoint.String(), given to Transporters
	serving  bool
	stopped  bool
	unwatch  func() // stops following the App's health.Status
}

// NewServer returns a Server configured by opts.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{network: "tcp", address: ":0", reflection: true}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = log.DefaultLogger
	}
	common := middleware.Chain(s.middleware...)
	s.unary = common(middleware.Chain(s.unaryMiddleware...)(callUnaryHandler))
	s.stream = common(middleware.Chain(s.streamMiddleware...)(callStreamHandler))

	gopts := []ggrpc.ServerOption{
		ggrpc.ForceServerCodecV2(newServerCodec()),
		ggrpc.ChainUnaryInterceptor(append([]ggrpc.UnaryServerInterceptor{s.unaryInterceptor}, s.unaryInts...)...),
		ggrpc.ChainStreamInterceptor(append([]ggrpc.StreamServerInterceptor{s.streamInterceptor}, s.streamInts...)...),
	}
	if s.tlsConf != nil {
		gopts = append(gopts, ggrpc.Creds(credentials.NewTLS(s.tlsConf)))
	}
	s.srv = ggrpc.NewServer(append(gopts, s.grpcOpts...)...)
	s.health = health.NewServer()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s.srv, s.health)
	if s.reflection {
		reflection.Register(s.srv)
	}
	return s
}

// RegisterService registers a service implementation, as generated
// RegisterXxxServer functions do. It must be called before Start.
func (s *Server) RegisterService(desc *ggrpc.ServiceDesc, impl any) {
	s.srv.RegisterService(desc, impl)
}

// GetServiceInfo returns the registered services, health and reflection
// included.
func (s *Server) GetServiceInfo() map[string]ggrpc.ServiceInfo {
	return s.srv.GetServiceInfo()
}

// Endpoint returns the URL the server is reachable at, such as
// grpc://192.168.1.10:9000, binding the listener first if needed so that a
// ":0" address gives the real port. An unspecified host (0.0.0.0, ::) is
// replaced by an address of this host, or 127.0.0.1 if none is found.
func (s *Server) Endpoint() (*url.URL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.listenLocked(); err != nil {
		return nil, err
	}
	u := *s.endpoint
	return &u, nil
}

// listenLocked binds the listener, if not bound yet, and computes the
// endpoint.
func (s *Server) listenLocked() error {
	if s.endpoint != nil {
		return nil
	}
	if s.stopped {
		return fmt.Errorf("transport/grpc: server stopped")
	}
	if s.lis == nil {
		lis, err := net.Listen(s.network, s.address)
		if err != nil {
			return fmt.Errorf("transport/grpc: listen on %s %q: %w", s.network, s.address, err)
		}
		s.lis = lis
	}
	host, err := hostpkg.Advertise(s.lis.Addr())
	if err != nil {
		return fmt.Errorf("transport/grpc: endpoint of listener %s: %w", s.lis.Addr(), err)
	}
	s.endpoint = &url.URL{Scheme: "grpc", Host: host}
	s.epString = s.endpoint.String()
	return nil
}

// Start serves until Stop is called. It returns nil after Stop (also when
// Stop came first), and an error if ctx is already done or listening or
// serving fails.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	if err := s.listenLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	if s.serving {
		s.mu.Unlock()
		return fmt.Errorf("transport/grpc: server on %s already started", s.epString)
	}
	if err := ctx.Err(); err != nil {
		// Not serving: Stop closes the listener.
		s.mu.Unlock()
		return fmt.Errorf("transport/grpc: start server on %s: %w", s.epString, err)
	}
	s.serving = true
	lis := s.lis
	if st, ok := zhealth.FromContext(ctx); ok {
		// Watch calls back at once with the App's state, then on each
		// change; under mu so that Stop, which unwatches, sees it.
		s.unwatch = st.Watch(func(state zhealth.State) {
			if state == zhealth.Serving {
				s.setHealth(healthpb.HealthCheckResponse_SERVING)
			} else {
				s.setHealth(healthpb.HealthCheckResponse_NOT_SERVING)
			}
		})
	} else {
		s.setHealth(healthpb.HealthCheckResponse_SERVING)
	}
	s.mu.Unlock()

	_ = s.logger.Log(log.LevelInfo, "msg", "gRPC server listening", "addr", lis.Addr().String(), "endpoint", s.epString)
	err := s.srv.Serve(lis)
	if err == nil || stderrors.Is(err, ggrpc.ErrServerStopped) {
		return nil
	}
	return fmt.Errorf("transport/grpc: serve on %s: %w", s.epString, err)
}

// Stop stops the server gracefully: the health service reports NOT_SERVING
// at once, new RPCs are refused and in-flight RPCs may finish until ctx is
// done, at which point the remaining ones are cancelled and Stop returns
// ctx's error.
func (s *Server) Stop(ctx context.Context) error {
	s.health.Shutdown()
	s.mu.Lock()
	s.stopped = true
	serving, lis, ep := s.serving, s.lis, s.epString
	if s.unwatch != nil {
		s.unwatch()
	}
	s.mu.Unlock()
	if serving {
		// Only a server that said it was listening says it is stopping.
		_ = s.logger.Log(log.LevelInfo, "msg", "gRPC server stopping", "endpoint", ep)
	}
	if !serving && lis != nil {
		// Bound by Endpoint but never served: Serve will not close it.
		_ = lis.Close()
	}

	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.srv.Stop()
		<-done
		return fmt.Errorf("transport/grpc: graceful stop of server on %s: %w", ep, ctx.Err())
	}
}

// setHealth sets the health status of the server and of every service.
func (s *Server) setHealth(status healthpb.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", status)
	for name := range s.srv.GetServiceInfo() {
		s.health.SetServingStatus(name, status)
	}
}

// unaryInterceptor runs the unary middleware chain around handler.
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *ggrpc.UnaryServerInfo, handler ggrpc.UnaryHandler) (any, error) {
	if err := decodeFailure(req); err != nil {
		// The chain still runs, so that logging, metrics and tracing see
		// the 400, but around a stand-in for the message and a handler
		// that fails: middleware such as validate would misjudge the
		// emptied message, and the service's handler must not run.
		req = malformedRequest{}
		handler = func(context.Context, any) (any, error) { return nil, err }
	}
	if s.timeout > 0 {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > s.timeout {
			// One allocation where context.WithTimeout costs 4 to 6: see
			// internal/deadline.
			dc := deadline.New(ctx, time.Now().Add(s.timeout))
			defer dc.Release()
			ctx = dc
		}
	}
	tr := &serverTransport{
		Context:   ctx,
		endpoint:  s.epString,
		operation: info.FullMethod,
		handler:   handler,
	}
	tr.reqHeader.ctx = ctx
	reply, err := s.unary(withServerTransport(tr), req)
	if len(tr.reply.md) > 0 {
		// Fails only if the handler sent the header itself.
		_ = ggrpc.SetHeader(ctx, tr.reply.md)
	}
	if err != nil {
		return nil, errors.FromError(err)
	}
	return reply, nil
}

// malformedRequest stands in for a request message that failed to decode,
// as the chain's request: it has none of the methods middleware look for
// (Validate, proto.Message), so they pass it through to the failing
// handler.
type malformedRequest struct{}

// String names the stand-in in logs.
func (malformedRequest) String() string { return "<malformed request message>" }

// callUnaryHandler is the innermost handler of the unary chain.
func callUnaryHandler(ctx context.Context, req any) (any, error) {
	tr := ctx.Value(serverStateKey{}).(*serverTransport)
	return tr.handler(ctx, req)
}

// streamInterceptor runs the stream middleware chain around handler.
func (s *Server) streamInterceptor(srv any, ss ggrpc.ServerStream, info *ggrpc.StreamServerInfo, handler ggrpc.StreamHandler) error {
	ctx := ss.Context()
	tr := &serverTransport{
		Context:       ctx,
		endpoint:      s.epString,
		operation:     info.FullMethod,
		srv:           srv,
		streamHandler: handler,
	}
	tr.reqHeader.ctx = ctx
	tr.stream = &serverStream{ServerStream: ss, tr: tr, ctx: ctx}
	_, err := s.stream(withServerTransport(tr), tr.stream)
	tr.stream.flushHeader()
	if err != nil {
		return errors.FromError(err)
	}
	return nil
}

// callStreamHandler is the innermost handler of the stream chain.
func callStreamHandler(ctx context.Context, req any) (any, error) {
	tr := ctx.Value(serverStateKey{}).(*serverTransport)
	tr.stream.ctx = ctx
	ss, ok := req.(ggrpc.ServerStream)
	if !ok {
		ss = tr.stream
	}
	err := tr.streamHandler(tr.srv, ss)
	if stderrors.Is(err, io.EOF) {
		// The handler passed on Recv's io.EOF: the client closed its side
		// and the stream is over, which is success, not an UNKNOWN error.
		// errors.Is, as the HTTP server's ServerStream routes do, so that
		// one handler ends alike on both transports.
		return nil, nil
	}
	return nil, err
}

// serverStream is the grpc.ServerStream handed to stream handlers: its
// context is the one the middleware chain built, and the Transporter's reply
// header goes out with the stream's header.
type serverStream struct {
	ggrpc.ServerStream
	tr         *serverTransport
	ctx        context.Context
	headerSent bool
}

func (s *serverStream) Context() context.Context { return s.ctx }

// flushHeader hands the Transporter's reply header to grpc-go, once.
func (s *serverStream) flushHeader() {
	if s.headerSent {
		return
	}
	s.headerSent = true
	if len(s.tr.reply.md) > 0 {
		_ = s.ServerStream.SetHeader(s.tr.reply.md)
	}
}

func (s *serverStream) SendHeader(md metadata.MD) error {
	s.flushHeader()
	return s.ServerStream.SendHeader(md)
}

func (s *serverStream) SendMsg(m any) error {
	s.flushHeader()
	return s.ServerStream.SendMsg(m)
}

func (s *serverStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return decodeFailure(m)
}
