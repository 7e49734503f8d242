package grpc

import (
	"context"
	"crypto/tls"
	stderrors "errors"
	"fmt"
	"io"
	"strings"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
)

// ClientOption configures a client connection made by Dial or
// DialInsecure.
type ClientOption func(*clientOptions)

type clientOptions struct {
	endpoint         string
	timeout          time.Duration
	tlsConf          *tls.Config
	middleware       []middleware.Middleware
	streamMiddleware []middleware.Middleware
	unaryInts        []ggrpc.UnaryClientInterceptor
	streamInts       []ggrpc.StreamClientInterceptor
	grpcOpts         []ggrpc.DialOption
	discovery        registry.Discovery
	selector         *selector.Selector
	filters          []selector.NodeFilter
	healthCheck      bool
	logger           log.Logger
}

// WithEndpoint sets the target: host:port, grpc://host:port (as returned by
// Server.Endpoint), discovery:///service-name (resolved with WithDiscovery),
// or any target grpc-go understands, such as dns:///host:port.
func WithEndpoint(endpoint string) ClientOption {
	return func(o *clientOptions) { o.endpoint = endpoint }
}

// WithTimeout sets a deadline on every unary call whose context has none or
// a later one. Zero, the default, sets none. Streams are not limited.
func WithTimeout(d time.Duration) ClientOption {
	return func(o *clientOptions) { o.timeout = d }
}

// WithTLSConfig sets the TLS configuration Dial uses. Without it Dial uses
// the system's roots.
func WithTLSConfig(c *tls.Config) ClientOption {
	return func(o *clientOptions) { o.tlsConf = c }
}

// WithMiddleware appends client middleware run around every unary call.
func WithMiddleware(m ...middleware.Middleware) ClientOption {
	return func(o *clientOptions) { o.middleware = append(o.middleware, m...) }
}

// WithStreamMiddleware appends client middleware run when a stream is
// opened; see the package documentation.
func WithStreamMiddleware(m ...middleware.Middleware) ClientOption {
	return func(o *clientOptions) { o.streamMiddleware = append(o.streamMiddleware, m...) }
}

// WithUnaryInterceptor appends gRPC unary interceptors, run inside the
// middleware chain.
func WithUnaryInterceptor(in ...ggrpc.UnaryClientInterceptor) ClientOption {
	return func(o *clientOptions) { o.unaryInts = append(o.unaryInts, in...) }
}

// WithStreamInterceptor appends gRPC stream interceptors, run inside the
// stream middleware chain.
func WithStreamInterceptor(in ...ggrpc.StreamClientInterceptor) ClientOption {
	return func(o *clientOptions) { o.streamInts = append(o.streamInts, in...) }
}

// WithOptions appends raw grpc-go dial options.
func WithOptions(opts ...ggrpc.DialOption) ClientOption {
	return func(o *clientOptions) { o.grpcOpts = append(o.grpcOpts, opts...) }
}

// WithDiscovery sets the registry that discovery:///service-name endpoints
// are resolved with. Only grpc:// endpoints of the instances are used.
func WithDiscovery(d registry.Discovery) ClientOption {
	return func(o *clientOptions) { o.discovery = d }
}

// WithSelector sets the selector that picks the instance of every call on a
// discovery:/// endpoint. The default is selector.NewSelector with the
// discovery (p2c balancing). The selector's registry, if it has one, is used
// when WithDiscovery is not given.
func WithSelector(s *selector.Selector) ClientOption {
	return func(o *clientOptions) { o.selector = s }
}

// WithNodeFilter adds node filters to every selection of the connection,
// after the selector's own filters and before those of the call's context
// (selector.NewFilterContext).
func WithNodeFilter(f ...selector.NodeFilter) ClientOption {
	return func(o *clientOptions) { o.filters = append(o.filters, f...) }
}

// WithHealthCheck turns client-side health checking of discovered instances
// on (the default) or off. With it on, an instance whose health service
// reports NOT_SERVING, as a stopping Zelos server does, gets no new calls.
func WithHealthCheck(enabled bool) ClientOption {
	return func(o *clientOptions) { o.healthCheck = enabled }
}

// WithLogger sets the logger of the connection's own events, such as
// discovery failures. The default is log.DefaultLogger.
func WithLogger(l log.Logger) ClientOption {
	return func(o *clientOptions) { o.logger = l }
}

// Dial returns a TLS client connection configured by opts. The connection
// is made lazily, by the first call, as grpc.NewClient does; ctx only bounds
// the setup. Close the connection when done.
func Dial(ctx context.Context, opts ...ClientOption) (*ggrpc.ClientConn, error) {
	return dial(ctx, false, opts)
}

// ClientConn is grpc-go's ClientConn, which Dial and DialInsecure return,
// so that code can name it through this package, as the tutorial's
// gateway does.
type ClientConn = ggrpc.ClientConn

// DialInsecure is Dial without transport security.
func DialInsecure(ctx context.Context, opts ...ClientOption) (*ggrpc.ClientConn, error) {
	return dial(ctx, true, opts)
}

func dial(ctx context.Context, plaintext bool, opts []ClientOption) (*ggrpc.ClientConn, error) {
	o := clientOptions{healthCheck: true}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = log.DefaultLogger
	}
	if o.endpoint == "" {
		return nil, stderrors.New("transport/grpc: dial: no endpoint (use WithEndpoint)")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("transport/grpc: dial %q: %w", o.endpoint, err)
	}
	if plaintext && o.tlsConf != nil {
		return nil, fmt.Errorf("transport/grpc: dial %q: DialInsecure given WithTLSConfig; use Dial", o.endpoint)
	}
	c := &client{endpoint: o.endpoint, timeout: o.timeout}
	c.unary = middleware.Chain(o.middleware...)(invokeUnary)
	c.stream = middleware.Chain(o.streamMiddleware...)(openStream)

	creds := insecure.NewCredentials()
	if !plaintext {
		creds = credentials.NewTLS(o.tlsConf)
	}
	gopts := []ggrpc.DialOption{
		ggrpc.WithTransportCredentials(creds),
		ggrpc.WithChainUnaryInterceptor(append([]ggrpc.UnaryClientInterceptor{c.unaryInterceptor}, o.unaryInts...)...),
		ggrpc.WithChainStreamInterceptor(append([]ggrpc.StreamClientInterceptor{c.streamInterceptor}, o.streamInts...)...),
	}
	target := o.endpoint
	if rest, ok := strings.CutPrefix(target, discoveryScheme+"://"); ok {
		// discovery:///name, as in Kratos; discovery://authority/name and
		// discovery://name work too, the authority being ignored, as the
		// HTTP client does.
		name := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name = strings.Trim(rest[i+1:], "/")
			if name == "" {
				name = rest[:i]
			}
		}
		if name == "" {
			return nil, fmt.Errorf("transport/grpc: dial %q: the endpoint names no service", o.endpoint)
		}
		dopts, err := discoveryOptions(name, &o)
		if err != nil {
			return nil, err
		}
		gopts = append(gopts, dopts...)
	} else if hostport, ok := cutScheme(target, "grpc", "grpcs"); ok {
		target = "dns:///" + hostport
	}
	cc, err := ggrpc.NewClient(target, append(gopts, o.grpcOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("transport/grpc: dial %q: %w", o.endpoint, err)
	}
	return cc, nil
}

// cutScheme returns target without a scheme:// prefix of one of schemes.
func cutScheme(target string, schemes ...string) (string, bool) {
	for _, s := range schemes {
		if rest, ok := strings.CutPrefix(target, s+"://"); ok {
			return rest, true
		}
	}
	return "", false
}

// client holds a connection's chains, built once by dial.
type client struct {
	endpoint string
	timeout  time.Duration
	unary    middleware.Handler
	stream   middleware.Handler
}

// unaryInterceptor runs the client middleware chain around the call.
func (c *client) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *ggrpc.ClientConn, invoker ggrpc.UnaryInvoker, opts ...ggrpc.CallOption) error {
	if c.timeout > 0 {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.timeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.timeout)
			defer cancel()
		}
	}
	tr := &clientTransport{
		Context:   ctx,
		endpoint:  c.endpoint,
		operation: method,
		cc:        cc,
		invoker:   invoker,
		replyV:    reply,
		opts:      opts,
	}
	tr.reqHeader.ctx = ctx
	_, err := c.unary(withClientTransport(tr), req)
	return err
}

// invokeUnary is the innermost handler of the unary chain.
func invokeUnary(ctx context.Context, req any) (any, error) {
	tr := ctx.Value(clientStateKey{}).(*clientTransport)
	opts := tr.opts
	if tr.wantReply {
		opts = append(opts[:len(opts):len(opts)], ggrpc.Header(&tr.reply.md))
	}
	if err := tr.invoker(tr.outgoing(ctx), tr.operation, req, tr.replyV, tr.cc, opts...); err != nil {
		return nil, errors.FromError(err)
	}
	return tr.replyV, nil
}

// streamInterceptor runs the client stream middleware chain around opening
// the stream.
func (c *client) streamInterceptor(ctx context.Context, desc *ggrpc.StreamDesc, cc *ggrpc.ClientConn, method string, streamer ggrpc.Streamer, opts ...ggrpc.CallOption) (ggrpc.ClientStream, error) {
	tr := &clientTransport{
		Context:   ctx,
		endpoint:  c.endpoint,
		operation: method,
		cc:        cc,
		opts:      opts,
		desc:      desc,
		streamer:  streamer,
	}
	tr.reqHeader.ctx = ctx
	reply, err := c.stream(withClientTransport(tr), nil)
	if err != nil {
		return nil, err
	}
	cs, ok := reply.(ggrpc.ClientStream)
	if !ok {
		return nil, fmt.Errorf("transport/grpc: stream middleware of %s replaced the grpc.ClientStream with %T", method, reply)
	}
	return cs, nil
}

// openStream is the innermost handler of the client stream chain.
func openStream(ctx context.Context, _ any) (any, error) {
	tr := ctx.Value(clientStateKey{}).(*clientTransport)
	cs, err := tr.streamer(tr.outgoing(ctx), tr.desc, tr.cc, tr.operation, tr.opts...)
	if err != nil {
		return nil, errors.FromError(err)
	}
	return &clientStream{ClientStream: cs}, nil
}

// clientStream converts the errors of received messages to *errors.Error.
type clientStream struct {
	ggrpc.ClientStream
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil || err == io.EOF {
		return err
	}
	return errors.FromError(err)
}

// Fork returns ctx carrying a Transporter for one more attempt of the
// unary call, to be run at the same time as others (middleware/retry's
// hedging), and a function that makes the attempt's reply the call's. The
// attempt has a copy of the outgoing metadata and decodes into a new
// message of the reply's type. A stream is not forked: its attempts would
// share the stream.
func (t *clientTransport) Fork(ctx context.Context) (context.Context, func()) {
	f := &clientTransport{
		Context:   ctx,
		endpoint:  t.endpoint,
		operation: t.operation,
		wantReply: t.wantReply,
		cc:        t.cc,
		invoker:   t.invoker,
		opts:      t.opts,
		desc:      t.desc,
		streamer:  t.streamer,
		replyV:    t.replyV,
	}
	f.reqHeader.ctx = t.reqHeader.ctx
	if t.reqHeader.loaded {
		f.reqHeader.loaded, f.reqHeader.dirty = true, t.reqHeader.dirty
		f.reqHeader.md = t.reqHeader.md.Copy()
	}
	orig, isMsg := t.replyV.(proto.Message)
	if t.invoker != nil && isMsg {
		f.replyV = orig.ProtoReflect().New().Interface()
	}
	return f, func() {
		t.reply.md = f.reply.md
		if m, ok := f.replyV.(proto.Message); ok && f.replyV != t.replyV {
			proto.Reset(orig)
			proto.Merge(orig, m)
		}
	}
}
