package http

import (
	"bytes"
	"context"
	"crypto/tls"
	stderrors "errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/transport"
)

// DefaultMaxResponseSize is the default bound of reply bodies a Client
// reads: 16 MiB.
const DefaultMaxResponseSize = 16 << 20

// DecodeResponseFunc decodes a 2xx reply into out. res.Body is bounded by
// the client's maximum response size.
type DecodeResponseFunc func(ctx context.Context, res *nethttp.Response, out any) error

// DecodeErrorFunc converts a non-2xx reply into an error. res.Body is
// bounded by the client's maximum response size.
type DecodeErrorFunc func(ctx context.Context, res *nethttp.Response) error

// ClientOption configures a Client.
type ClientOption func(*clientOptions)

type clientOptions struct {
	endpoint     string
	ms           []middleware.Middleware
	timeout      time.Duration
	tlsConf      *tls.Config
	transport    nethttp.RoundTripper
	userAgent    string
	disco        registry.Discovery
	sel          *selector.Selector
	block        bool
	decoder      DecodeResponseFunc
	errorDecoder DecodeErrorFunc
	contentType  string
	maxResponse  int64
	logger       log.Logger
}

// WithEndpoint sets the server: "http://host:port" (optionally with a base
// path), "https://host:port", "host:port" (http, or https with
// WithTLSConfig), or "discovery:///service" to find the service's http (or
// https) endpoints with WithDiscovery or WithSelector.
func WithEndpoint(endpoint string) ClientOption {
	return func(o *clientOptions) { o.endpoint = endpoint }
}

// WithMiddleware sets the client middleware chain. Middleware sees the
// client Transporter (transport.FromClientContext), whose RequestHeader is
// the outgoing request header.
func WithMiddleware(m ...middleware.Middleware) ClientOption {
	return func(o *clientOptions) { o.ms = append(o.ms, m...) }
}

// WithTimeout bounds every call unless its context has an earlier
// deadline. Zero, the default, means no bound.
func WithTimeout(d time.Duration) ClientOption { return func(o *clientOptions) { o.timeout = d } }

// WithTLSConfig sets the TLS configuration of the default transport, and
// makes host:port and discovery endpoints use https.
func WithTLSConfig(c *tls.Config) ClientOption { return func(o *clientOptions) { o.tlsConf = c } }

// WithTransport sets the RoundTripper. The default is a clone of
// nethttp.DefaultTransport keeping up to 64 idle connections per host.
func WithTransport(rt nethttp.RoundTripper) ClientOption {
	return func(o *clientOptions) { o.transport = rt }
}

// WithUserAgent sets the User-Agent header of every call.
func WithUserAgent(ua string) ClientOption { return func(o *clientOptions) { o.userAgent = ua } }

// WithDiscovery sets the registry "discovery:///name" endpoints are
// resolved with. Without WithSelector, a selector.NewSelector over it (p2c)
// picks the nodes.
func WithDiscovery(d registry.Discovery) ClientOption { return func(o *clientOptions) { o.disco = d } }

// WithSelector sets the selector whose balancer and filters pick a node
// per call for a discovery endpoint. Its Registry is used when WithDiscovery
// is not given.
func WithSelector(s *selector.Selector) ClientOption { return func(o *clientOptions) { o.sel = s } }

// WithBlock makes NewClient wait, until its context is done, for a
// discovery endpoint to have at least one node.
func WithBlock() ClientOption { return func(o *clientOptions) { o.block = true } }

// WithResponseDecoder sets how 2xx replies are decoded; by default by their
// Content-Type, like the server decodes requests.
func WithResponseDecoder(d DecodeResponseFunc) ClientOption {
	return func(o *clientOptions) { o.decoder = d }
}

// WithErrorDecoder sets how non-2xx replies become errors; by default with
// errors.FromHTTPResponse, so the *errors.Error the server returned comes
// back equal.
func WithErrorDecoder(d DecodeErrorFunc) ClientOption {
	return func(o *clientOptions) { o.errorDecoder = d }
}

// WithContentType sets the media type requests are encoded with, and
// accepted in: application/json (the default), application/x-protobuf,
// application/xml, application/yaml, application/x-www-form-urlencoded or
// application/NAME for a registered codec.
func WithContentType(ct string) ClientOption { return func(o *clientOptions) { o.contentType = ct } }

// WithMaxResponseSize bounds the reply bodies read; larger replies fail
// with RESPONSE_TOO_LARGE. The default is DefaultMaxResponseSize; zero or
// less means no bound.
func WithMaxResponseSize(n int64) ClientOption { return func(o *clientOptions) { o.maxResponse = n } }

// WithLogger sets the logger of discovery errors; log.DefaultLogger by
// default.
func WithLogger(l log.Logger) ClientOption { return func(o *clientOptions) { o.logger = l } }

// CallOption configures one call.
type CallOption func(*callInfo)

type callInfo struct {
	op           string
	pathTemplate string
	contentType  string
	replyHeader  *nethttp.Header
	header       nethttp.Header
}

// Operation sets the operation client middleware sees, such as
// /helloworld.v1.Greeter/SayHello. The default is the path template.
func Operation(op string) CallOption { return func(c *callInfo) { c.op = op } }

// PathTemplate sets the path template of the call, as seen by
// Transporter.PathTemplate (for metrics without per-ID labels). The default
// is the path.
func PathTemplate(t string) CallOption { return func(c *callInfo) { c.pathTemplate = t } }

// Header makes the call store the reply header in *h.
func Header(h *nethttp.Header) CallOption { return func(c *callInfo) { c.replyHeader = h } }

// WithRequestHeader adds h to the call's request header.
func WithRequestHeader(h nethttp.Header) CallOption {
	return func(c *callInfo) {
		if c.header == nil {
			c.header = make(nethttp.Header, len(h))
		}
		for k, vs := range h {
			for _, v := range vs {
				c.header.Add(k, v)
			}
		}
	}
}

// ContentType sets the media type this call's request is encoded with.
func ContentType(ct string) CallOption { return func(c *callInfo) { c.contentType = ct } }

// Client calls HTTP servers: it encodes the request, runs the client
// middleware, picks a node for discovery endpoints, and decodes the reply
// or the error. It is safe for concurrent use; Close releases it.
type Client struct {
	opts     clientOptions
	hc       *nethttp.Client
	base     string // scheme://host[/base], without a trailing slash
	scheme   string
	endpoint string // the endpoint for the Transporter
	chain    middleware.Handler
	res      *resolver // discovery endpoints only
	ownSel   *selector.Selector
}

// NewClient returns a client for the WithEndpoint server. With a
// discovery endpoint it starts watching the service; with WithBlock it
// waits for a node until ctx is done.
func NewClient(ctx context.Context, opts ...ClientOption) (*Client, error) {
	o := clientOptions{
		contentType:  contentTypeJSON,
		maxResponse:  DefaultMaxResponseSize,
		decoder:      DefaultResponseDecoder,
		errorDecoder: DefaultErrorDecoder,
		logger:       log.DefaultLogger,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.endpoint == "" {
		return nil, stderrors.New("transport/http: NewClient: no endpoint (use WithEndpoint)")
	}
	c := &Client{opts: o, scheme: "http"}
	if o.tlsConf != nil {
		c.scheme = "https"
	}
	rt := o.transport
	if rt == nil {
		t := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		if o.tlsConf != nil {
			t.TLSClientConfig = o.tlsConf
		}
		rt = t
	}
	c.hc = &nethttp.Client{Transport: rt}

	ep := o.endpoint
	if !strings.Contains(ep, "://") {
		ep = c.scheme + "://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil {
		return nil, fmt.Errorf("transport/http: NewClient: invalid endpoint %q: %w", o.endpoint, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("transport/http: NewClient: endpoint %q has no host", o.endpoint)
		}
		c.scheme = u.Scheme
		c.base = strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
		c.endpoint = c.base
	case "discovery":
		name := strings.Trim(u.Path, "/")
		if name == "" {
			name = u.Host
		}
		if name == "" {
			return nil, fmt.Errorf("transport/http: NewClient: endpoint %q names no service", o.endpoint)
		}
		sel, disco := o.sel, o.disco
		if disco == nil && sel != nil {
			disco = sel.Discovery()
		}
		if disco == nil {
			return nil, fmt.Errorf("transport/http: NewClient: endpoint %q needs WithDiscovery or a selector with a Registry", o.endpoint)
		}
		if sel == nil {
			sel = selector.NewSelector(selector.Registry(disco))
			c.ownSel = sel
		}
		c.base = c.scheme + "://" + name
		c.endpoint = o.endpoint
		c.res, err = newResolver(ctx, disco, sel.Build(), name, c.scheme, o.block, o.logger)
		if err != nil {
			c.closeSelector()
			return nil, err
		}
	default:
		return nil, fmt.Errorf("transport/http: NewClient: endpoint %q: unsupported scheme %q", o.endpoint, u.Scheme)
	}
	c.chain = c.call
	if len(o.ms) > 0 {
		c.chain = middleware.Chain(o.ms...)(c.call)
	}
	return c, nil
}

// Close stops the discovery watch and closes idle connections.
func (c *Client) Close() error {
	if c.res != nil {
		c.res.close()
	}
	c.closeSelector()
	c.hc.CloseIdleConnections()
	return nil
}

func (c *Client) closeSelector() {
	if c.ownSel != nil {
		_ = c.ownSel.Close()
	}
}

// clientTransport is the client-side Transporter and the state of one
// call, found by the end of the middleware chain.
type clientTransport struct {
	endpoint     string
	op           string
	pathTemplate string
	req          *nethttp.Request
	replyHeader  nethttp.Header
	out          any
	cctx         callContext // req's context
	sent         bool        // call ran: the next call is a retry
}

// callContext is the context of a call's request: whatever context the
// client middleware hand to the end of the chain. Switching it spares a
// copy of the request per call when middleware derive a context (as
// timeout and retry do); it is switched before the request is first sent,
// never after.
type callContext struct {
	context.Context
}

// Kind implements transport.Transporter.
func (t *clientTransport) Kind() transport.Kind { return transport.KindHTTP }

// Endpoint implements transport.Transporter: the client's endpoint, or
// after the call the node's for discovery endpoints.
func (t *clientTransport) Endpoint() string { return t.endpoint }

// Operation implements transport.Transporter.
func (t *clientTransport) Operation() string { return t.op }

// RequestHeader implements transport.Transporter.
func (t *clientTransport) RequestHeader() transport.Header { return HeaderCarrier(t.req.Header) }

// ReplyHeader implements transport.Transporter; it is empty until the
// reply arrives.
func (t *clientTransport) ReplyHeader() transport.Header {
	if t.replyHeader == nil {
		t.replyHeader = make(nethttp.Header)
	}
	return HeaderCarrier(t.replyHeader)
}

// Request implements Transporter.
func (t *clientTransport) Request() *nethttp.Request { return t.req }

// PathTemplate implements Transporter.
func (t *clientTransport) PathTemplate() string { return t.pathTemplate }

// Fork returns ctx carrying a Transporter for one more attempt of the
// call, to be run at the same time as others (middleware/retry's
// hedging), and a function that makes the attempt's reply the call's. The
// attempt has a copy of the request header and its own reply, decoded into
// a new value of out's type.
func (t *clientTransport) Fork(ctx context.Context) (context.Context, func()) {
	f := &clientTransport{endpoint: t.endpoint, op: t.op, pathTemplate: t.pathTemplate, sent: true}
	f.req = t.req.Clone(t.req.Context()) // sent: call resends the body from GetBody
	f.out = newLike(t.out)
	return transport.NewClientContext(ctx, f), func() {
		t.replyHeader, t.endpoint = f.replyHeader, f.endpoint
		copyInto(t.out, f.out)
	}
}

// newLike returns a new value of the type out points to, or nil if out is
// not a non-nil pointer.
func newLike(out any) any {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil
	}
	return reflect.New(v.Type().Elem()).Interface()
}

// copyInto sets *dst to *src, both from newLike; proto messages are merged,
// as they must not be copied as structs.
func copyInto(dst, src any) {
	if src == nil {
		return
	}
	if m, ok := dst.(proto.Message); ok {
		proto.Reset(m)
		proto.Merge(m, src.(proto.Message))
		return
	}
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src).Elem())
}

// Invoke calls method on path (which may carry a query string), sending in
// (unless nil) encoded with the client's content type and decoding the 2xx
// reply into out (unless nil). A non-2xx reply is returned as the error the
// server sent, an *errors.Error; a server that cannot be reached is a 503
// UNAVAILABLE *errors.Error, and a done context gives 499 or 504.
func (c *Client) Invoke(ctx context.Context, method, path string, in, out any, opts ...CallOption) error {
	ci := callInfo{contentType: c.opts.contentType}
	for _, o := range opts {
		o(&ci)
	}
	var body io.Reader
	var codec encoding.Codec
	name := codecName(mediaType(ci.contentType))
	if name != "" && name != "multipart" {
		codec = encoding.GetCodec(name)
	}
	if codec == nil {
		return fmt.Errorf("transport/http: Invoke %s %s: no codec for content type %q", method, path, ci.contentType)
	}
	if in != nil {
		data, err := codec.Marshal(in)
		if err != nil {
			return fmt.Errorf("transport/http: Invoke %s %s: encoding %T as %s: %w", method, path, in, ci.contentType, err)
		}
		body = bytes.NewReader(data)
	}
	if c.opts.timeout > 0 {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > c.opts.timeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.opts.timeout)
			defer cancel()
		}
	}
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	tr := &clientTransport{endpoint: c.endpoint, op: ci.op, pathTemplate: ci.pathTemplate, out: out}
	tr.cctx.Context = ctx
	req, err := nethttp.NewRequestWithContext(&tr.cctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("transport/http: Invoke %s %s: %w", method, path, err)
	}
	tr.req = req
	h := req.Header
	for k, vs := range ci.header {
		h[k] = append(h[k], vs...)
	}
	if in != nil {
		h.Set("Content-Type", ci.contentType)
	}
	if h.Get("Accept") == "" && name != "form" {
		h.Set("Accept", ci.contentType)
	}
	if c.opts.userAgent != "" {
		h.Set("User-Agent", c.opts.userAgent)
	}
	if tr.pathTemplate == "" {
		tr.pathTemplate, _, _ = strings.Cut(path, "?")
	}
	if tr.op == "" {
		tr.op = tr.pathTemplate
	}
	_, err = c.chain(transport.NewClientContext(ctx, tr), in)
	if ci.replyHeader != nil && tr.replyHeader != nil {
		*ci.replyHeader = tr.replyHeader
	}
	return err
}

// call ends the middleware chain: it sends the request and decodes the
// reply.
func (c *Client) call(ctx context.Context, _ any) (any, error) {
	t, ok := transport.FromClientContext(ctx)
	tr, ok2 := t.(*clientTransport)
	if !ok || !ok2 {
		return nil, stderrors.New("transport/http: a client middleware replaced the context")
	}
	req := tr.req
	switch {
	case tr.sent:
		// A retry (middleware/retry): net/http may still be closing the
		// previous attempt's body, so this one gets a request and a body
		// of its own, the same bytes read again.
		req = req.WithContext(ctx)
		if tr.req.GetBody != nil {
			body, err := tr.req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("transport/http: resending the body of %s %s: %w", req.Method, req.URL.Redacted(), err)
			}
			req.Body = body
		}
	case ctx != tr.cctx.Context:
		// The first attempt: tr.req's context is tr.cctx, which now
		// follows ctx, instead of a copy of the request per call.
		tr.cctx.Context = ctx
	}
	tr.sent = true
	if dl, ok := ctx.Deadline(); ok {
		setTimeoutHeader(req.Header, dl)
	}
	var done selector.DoneFunc
	if c.res != nil {
		node, d, err := c.res.picker.Select(ctx)
		if err != nil {
			return nil, err
		}
		done = d
		u := *req.URL
		u.Host = node.Address()
		if req == tr.req {
			req = req.WithContext(ctx) // tr.req keeps the endpoint's URL for retries
		}
		req.URL, req.Host = &u, ""
		tr.endpoint = c.scheme + "://" + u.Host
	}
	res, err := c.hc.Do(req)
	if err != nil {
		err = callError(ctx, req, err)
		if done != nil {
			done(ctx, selector.DoneInfo{Err: err})
		}
		return nil, err
	}
	tr.replyHeader = res.Header
	if c.opts.maxResponse > 0 {
		res.Body = &limitedBody{rc: res.Body, n: c.opts.maxResponse}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		err = c.opts.errorDecoder(ctx, res)
		if err == nil {
			err = errors.New(res.StatusCode, errors.UnknownReason, nethttp.StatusText(res.StatusCode))
		}
	} else if tr.out != nil {
		err = c.opts.decoder(ctx, res, tr.out)
	}
	drain(res.Body)
	if done != nil {
		done(ctx, selector.DoneInfo{Err: err, ReplyMD: HeaderCarrier(res.Header), BytesSent: true, BytesReceived: true})
	}
	if err != nil {
		return nil, err
	}
	return tr.out, nil
}

// callError converts an error of nethttp.Client.Do.
func callError(ctx context.Context, req *nethttp.Request, err error) error {
	if ctx.Err() != nil {
		return errors.FromError(ctx.Err()).WithCause(err)
	}
	var se *errors.Error
	if stderrors.As(err, &se) {
		return se
	}
	return errors.ServiceUnavailable(ReasonUnavailable, "calling "+req.Method+" "+req.URL.Redacted()+": "+err.Error()).WithCause(err)
}

// drain reads what is left of a reply, up to a bound, so the connection can
// be reused, and closes it.
func drain(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, 64<<10)
	_ = rc.Close()
}

// limitedBody fails reads past n bytes.
type limitedBody struct {
	rc io.ReadCloser
	n  int64
}

// Read implements io.Reader.
func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errResponseTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.rc.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n + int(l.n), errResponseTooLarge
	}
	return n, err
}

// Close implements io.Closer.
func (l *limitedBody) Close() error { return l.rc.Close() }

var errResponseTooLarge = errors.InternalServer(ReasonResponseTooLarge, "the reply exceeds the client's maximum response size")

// DefaultResponseDecoder decodes a reply by its Content-Type (JSON when it
// has none) into out. A *[]byte out gets the raw body, and a *string out
// the body of a text/* reply. An empty body leaves out unchanged.
func DefaultResponseDecoder(_ context.Context, res *nethttp.Response, out any) error {
	data, err := io.ReadAll(res.Body)
	if err != nil {
		var se *errors.Error
		if stderrors.As(err, &se) {
			return se
		}
		return fmt.Errorf("transport/http: reading the reply: %w", err)
	}
	if len(data) == 0 {
		return nil
	}
	ct := res.Header.Get("Content-Type")
	switch o := out.(type) {
	case *[]byte:
		*o = data
		return nil
	case *string:
		if strings.HasPrefix(ct, "text/") {
			*o = string(data)
			return nil
		}
	}
	name := "json"
	if ct != "" {
		name = codecName(mediaType(ct))
	}
	codec := encoding.GetCodec(name)
	if codec == nil {
		return fmt.Errorf("transport/http: no codec for the reply's Content-Type %q", ct)
	}
	if err := codec.Unmarshal(data, out); err != nil {
		return fmt.Errorf("transport/http: decoding the %s reply: %w", name, err)
	}
	return nil
}

// DefaultErrorDecoder converts a non-2xx reply with errors.FromHTTPResponse.
func DefaultErrorDecoder(_ context.Context, res *nethttp.Response) error {
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil && len(data) == 0 {
		return errors.New(res.StatusCode, errors.UnknownReason,
			"reading the "+strconv.Itoa(res.StatusCode)+" reply: "+err.Error())
	}
	return errors.FromHTTPResponse(res.StatusCode, data)
}
