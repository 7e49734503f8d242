package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
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

// transports are the connections to backends, shared by every endpoint
// and kept across reloads.
type transports struct {
	h1  *http.Transport // HTTP/1.1 (and WebSocket upgrades)
	h2c *http.Transport // HTTP/2 without TLS: h2c and gRPC pass-through
}

func newTransports() *transports {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	h1 := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
	h2c := &http.Transport{
		DialContext:     dialer.DialContext,
		IdleConnTimeout: 90 * time.Second,
	}
	h2c.Protocols = new(http.Protocols)
	h2c.Protocols.SetUnencryptedHTTP2(true)
	return &transports{h1: h1, h2c: h2c}
}

func (t *transports) close() {
	t.h1.CloseIdleConnections()
	t.h2c.CloseIdleConnections()
}

// attempt is one try of a call on one node.
type attempt struct {
	c      *call
	node   selector.Node
	client *clientTransport
	err    error
}

type attemptKey struct{}

// newProxy returns the reverse proxy of an endpoint. The node an attempt
// goes to is in the request's context.
func (g *Gateway) newProxy(ep *endpoint) http.Handler {
	rt := http.RoundTripper(g.tr.h1)
	if ep.protocol == protoH2C || ep.protocol == protoGRPC {
		rt = g.tr.h2c
	}
	if g.opts.rt != nil {
		rt = g.opts.rt
	}
	return &httputil.ReverseProxy{
		Transport: rt,
		// Streams (SSE, gRPC, chunked replies) are flushed as they come.
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			a := pr.In.Context().Value(attemptKey{}).(*attempt)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = a.node.Address()
			path, raw := rewritePath(ep.rewrite, pr.In.URL.Path, pr.In.URL.RawPath)
			pr.Out.URL.Path, pr.Out.URL.RawPath = path, raw
			pr.Out.Host = ""
			pr.SetXForwarded()
			h := pr.Out.Header
			for _, k := range ep.reqDel {
				h.Del(k)
			}
			for _, kv := range ep.reqSet {
				h.Set(kv[0], kv[1])
			}
			for k, v := range a.client.header {
				h[k] = v
			}
			if ep.protocol != protoGRPC {
				if v := timeoutHeader(pr.In.Context(), ep.timeout); v != "" {
					h.Set(zhttp.TimeoutHeader, v)
				}
			}
		},
		ModifyResponse: func(res *http.Response) error {
			a := res.Request.Context().Value(attemptKey{}).(*attempt)
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
			a := r.Context().Value(attemptKey{}).(*attempt)
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
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		return errors.Newf(http.StatusGatewayTimeout, ReasonBackendTimeout, "gateway: backend %s did not answer in time", ep.service)
	case ctx.Err() != nil:
		return errors.ClientClosed("CLIENT_CLOSED", "gateway: the client went away")
	}
	return errors.Newf(http.StatusBadGateway, ReasonBackendUnavailable, "gateway: backend %s is unreachable", ep.service)
}

// grpcStatusError is the Zelos error of a gRPC status code.
func grpcStatusError(ep *endpoint, code, msg string) error {
	n := 0
	for _, c := range code {
		if c < '0' || c > '9' {
			return errors.Newf(http.StatusBadGateway, ReasonBackendError, "gateway: backend %s sent grpc-status %q", ep.service, code)
		}
		n = n*10 + int(c-'0')
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
	ct, _ := transport.FromClientContext(ctx)
	client, _ := ct.(*clientTransport)
	if client == nil {
		client = &clientTransport{ep: ep, header: http.Header{}}
	}
	if tried := selector.TriedFromContext(ctx); tried != nil {
		tried.Add(node.Address())
	}
	a := &attempt{c: c, node: node, client: client}
	r := c.attemptRequest(context.WithValue(ctx, attemptKey{}, a))
	ep.proxy.ServeHTTP(c.w, r)
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
