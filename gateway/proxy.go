package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/transport"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// Reasons of the gateway's own errors about backends. Their messages name
// the backend service, never an instance's address.
const (
	// ReasonBackendUnavailable: no instance, or the instance could not be
	// reached (502, or 503 with no instance).
	ReasonBackendUnavailable = "BACKEND_UNAVAILABLE"
	// ReasonBackendTimeout: the backend did not answer within the
	// endpoint's timeout (504).
	ReasonBackendTimeout = "BACKEND_TIMEOUT"
	// ReasonBackendError: the backend's reply was not a valid response.
	ReasonBackendError = "BACKEND_ERROR"
)

// maxErrorBody bounds how much of a backend's 5xx reply is read to turn
// it into the error the policies see.
const maxErrorBody = 64 << 10

// transports are the connections to backends, shared by the endpoints of
// one protocol and timeout and kept across reloads. The timeout is the
// transport's ResponseHeaderTimeout: the wait for a reply's head.
type transports struct {
	mu     sync.Mutex
	byKind map[transportKey]*http.Transport
}

type transportKey struct {
	h2c     bool // HTTP/2 without TLS (h2c and gRPC pass-through), else HTTP/1.1
	timeout time.Duration
}

func newTransports() *transports { return &transports{byKind: map[transportKey]*http.Transport{}} }

// get returns the transport of a protocol and head timeout.
func (t *transports) get(h2c bool, timeout time.Duration) *http.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := transportKey{h2c, timeout}
	if tr := t.byKind[k]; tr != nil {
		return tr
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
	}
	if h2c {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	t.byKind[k] = tr
	return tr
}

func (t *transports) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.byKind {
		tr.CloseIdleConnections()
	}
}

// bufferPool lends the 32 KiB buffers ReverseProxy copies bodies through,
// which it would otherwise allocate for every request.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

var _ httputil.BufferPool = (*bufferPool)(nil)

// attempt is one try of a call on one node.
type attempt struct {
	c      *call
	node   selector.Node
	client *clientTransport
	err    error
}

// attemptOf returns the attempt a proxied request belongs to.
func attemptOf(r *http.Request) *attempt {
	tr, _ := transport.FromServerContext(r.Context())
	return tr.(*serverTransport).c.cur
}

// newProxy returns the reverse proxy of an endpoint. The node an attempt
// goes to is in the request's context.
func (g *Gateway) newProxy(ep *endpoint) http.Handler {
	timeout := ep.timeout
	if ep.protocol == protoGRPC {
		timeout = 0 // gRPC streams may send their head late; grpc-timeout bounds calls
	}
	rt := http.RoundTripper(g.tr.get(ep.protocol == protoH2C || ep.protocol == protoGRPC, timeout))
	if g.opts.rt != nil {
		rt = g.opts.rt
	}
	return &httputil.ReverseProxy{
		Transport:  rt,
		BufferPool: g.buffers,
		// FlushInterval 0: ReverseProxy flushes event streams and replies of
		// unknown length (chunked, gRPC) after every write by itself, and
		// buffers the others, with no timer goroutine per request.
		Rewrite: func(pr *httputil.ProxyRequest) {
			a := attemptOf(pr.In)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = a.node.Address()
			path, raw := rewritePath(ep.rewrite, pr.In.URL.Path, pr.In.URL.RawPath)
			pr.Out.URL.Path, pr.Out.URL.RawPath = path, raw
			pr.Out.Host = ""
			// X-Forwarded-For and -Proto as SetXForwarded sets them, with
			// fewer allocations; the client's own values are dropped.
			if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
				pr.Out.Header["X-Forwarded-For"] = []string{ip}
			}
			pr.Out.Header["X-Forwarded-Host"] = []string{pr.In.Host}
			if pr.In.TLS != nil {
				pr.Out.Header["X-Forwarded-Proto"] = protoHTTPS
			} else {
				pr.Out.Header["X-Forwarded-Proto"] = protoHTTPPlain
			}
			h := pr.Out.Header
			for _, k := range ep.reqDel {
				h.Del(k)
			}
			for _, kv := range ep.reqSet {
				h.Set(kv[0], kv[1])
			}
			if a.client != nil {
				for k, v := range a.client.header {
					h[k] = v
				}
			}
			if ep.protocol != protoGRPC {
				if v := ep.timeoutHeader(pr.In.Context()); v != "" {
					h.Set(zhttp.TimeoutHeader, v)
				}
			}
		},
		ModifyResponse: func(res *http.Response) error {
			a := attemptOf(res.Request)
			h := res.Header
			if ep.cors {
				// The gateway's CORS policy answers; the backend's own
				// headers would duplicate it.
				for k := range h {
					if strings.HasPrefix(k, "Access-Control-") {
						delete(h, k)
					}
				}
			}
			for _, k := range ep.respDel {
				h.Del(k)
			}
			for _, kv := range ep.respSet {
				h.Set(kv[0], kv[1])
			}
			if ep.protocol == protoGRPC {
				if s := h.Get("Grpc-Status"); s != "" && s != "0" {
					// A trailers-only gRPC failure: passed on as it is, and
					// counted by the breaker and the balancer.
					a.err = grpcStatusError(ep, s, h.Get("Grpc-Message"))
				}
				return nil
			}
			if res.StatusCode < 500 {
				return nil
			}
			// A backend failure becomes the error the breaker, the retry and
			// the balancer see; the reply is encoded from it, so a Zelos
			// backend's error body reaches the client unchanged.
			body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
			_ = res.Body.Close()
			a.err = errors.FromHTTPResponse(res.StatusCode, body)
			return errHandled
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			a := attemptOf(r)
			if err == errHandled {
				return
			}
			a.err = backendError(r.Context(), ep, err)
		},
	}
}

// errHandled marks a reply that ModifyResponse turned into an error.
var errHandled = errors.New(http.StatusBadGateway, ReasonBackendError, "gateway: handled")

// backendError is the error for a failed round trip to ep's backend.
func backendError(ctx context.Context, ep *endpoint, err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return bodyTooLarge(mbe.Limit)
	case isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errors.Newf(http.StatusGatewayTimeout, ReasonBackendTimeout, "gateway: backend %s did not answer in time", ep.service)
	case ctx.Err() != nil:
		return errors.ClientClosed("CLIENT_CLOSED", "gateway: the client went away")
	}
	return errors.Newf(http.StatusBadGateway, ReasonBackendUnavailable, "gateway: backend %s is unreachable", ep.service)
}

// isTimeout reports whether err is a transport's timeout, such as the wait
// for a reply head running out.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// The X-Forwarded-Proto values, shared: header value slices are only read.
var (
	protoHTTPS     = []string{"https"}
	protoHTTPPlain = []string{"http"}
)

// grpcStatusError is the Zelos error of a gRPC status code.
func grpcStatusError(ep *endpoint, code, msg string) error {
	n, err := strconv.ParseUint(code, 10, 32)
	if err != nil {
		return errors.Newf(http.StatusBadGateway, ReasonBackendError, "gateway: backend %s sent grpc-status %q", ep.service, code)
	}
	return errors.New(errors.FromGRPCCode(codes.Code(n)), "GRPC_STATUS", msg)
}

// proxyCall is the innermost handler of HTTP, h2c and gRPC endpoints: one
// attempt on one node.
func (g *Gateway) proxyCall(ctx context.Context, req any) (any, error) {
	c := req.(*call)
	ep := c.ep
	ep.pool.wait(ctx)
	node, done, err := ep.pool.picker.Select(ctx)
	if err != nil {
		return nil, errors.Newf(http.StatusServiceUnavailable, ReasonBackendUnavailable, "gateway: no instance of %s is available", ep.service)
	}
	var client *clientTransport
	if ct, ok := transport.FromClientContext(ctx); ok {
		client, _ = ct.(*clientTransport)
	}
	if tried := selector.TriedFromContext(ctx); tried != nil {
		tried.Add(node.Address())
	}
	a := &attempt{c: c, node: node, client: client}
	c.cur = a // attempts are sequential: the retry middleware does not hedge here
	ep.proxy.ServeHTTP(c.w, c.attemptRequest(ctx))
	done(ctx, selector.DoneInfo{Err: a.err, BytesSent: true, BytesReceived: c.w.started.Load() || a.err != nil})
	return nil, a.err
}

// rewritePath applies a Rewrite to a path and its escaped form.
func rewritePath(rw Rewrite, path, raw string) (string, string) {
	if rw.StripPrefix == "" && rw.AddPrefix == "" {
		return path, raw
	}
	strip := func(p string) string {
		if rw.StripPrefix != "" && strings.HasPrefix(p, rw.StripPrefix) {
			p = p[len(rw.StripPrefix):]
			if p == "" || p[0] != '/' {
				p = "/" + p
			}
		}
		if rw.AddPrefix != "" {
			p = strings.TrimRight(rw.AddPrefix, "/") + p
		}
		return p
	}
	path = strip(path)
	if raw != "" {
		raw = strip(raw)
	}
	return path, raw
}
