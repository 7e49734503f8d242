package http

import (
	"context"
	nethttp "net/http"
	"net/textproto"

	"github.com/zelos-go/zelos/transport"
)

// Transporter is the HTTP Transporter, on the server side (found with
// transport.FromServerContext) and on the client side (found with
// transport.FromClientContext in client middleware).
type Transporter interface {
	transport.Transporter
	// Request is the incoming request on the server side and the outgoing
	// request on the client side.
	Request() *nethttp.Request
	// PathTemplate is the matched route's path template on the server side,
	// such as /v1/users/{id}, and the PathTemplate call option (or the path)
	// on the client side.
	PathTemplate() string
}

// Request is net/http's Request, so that handlers mounted with HandleFunc
// can be written with this package alone, as in Kratos.
type Request = nethttp.Request

// ResponseWriter is net/http's ResponseWriter, for the same reason.
type ResponseWriter = nethttp.ResponseWriter

// HeaderCarrier adapts an nethttp.Header to transport.Header.
type HeaderCarrier nethttp.Header

// Get returns the first value of key.
func (h HeaderCarrier) Get(key string) string {
	if v := h[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values of key with value.
func (h HeaderCarrier) Set(key, value string) { nethttp.Header(h).Set(key, value) }

// Add appends value to the values of key.
func (h HeaderCarrier) Add(key, value string) { nethttp.Header(h).Add(key, value) }

// Keys returns the header's keys in canonical form.
func (h HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// Values returns every value of key.
func (h HeaderCarrier) Values(key string) []string { return h[canonicalKey(key)] }

// wellKnownKeys maps the lower-case header names that propagators and
// middleware look up on every request (W3C trace context, baggage,
// authorization, Zelos's own) to their canonical form. net/http
// canonicalises a key by building a new string, one allocation per lookup
// of a lower-case name; this fixed table spares it. It is never written
// after init.
var wellKnownKeys = map[string]string{
	"traceparent": "Traceparent", "tracestate": "Tracestate", "baggage": "Baggage",
	"authorization": "Authorization", "content-type": "Content-Type", "accept": "Accept",
	"x-zelos-timeout": "X-Zelos-Timeout", "x-zelos-retry-attempt": "X-Zelos-Retry-Attempt",
	"origin": "Origin", "user-agent": "User-Agent",
}

// canonicalKey returns key in net/http's canonical form.
func canonicalKey(key string) string {
	if c, ok := wellKnownKeys[key]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(key)
}

// RequestFromServerContext returns the request being served, from the
// context of a handler or server middleware.
func RequestFromServerContext(ctx context.Context) (*nethttp.Request, bool) {
	if c, ok := ctx.Value(ctxKey{}).(*reqCtx); ok {
		return c.req, true
	}
	if tr, ok := transport.FromServerContext(ctx); ok {
		if ht, ok := tr.(Transporter); ok {
			return ht.Request(), true
		}
	}
	return nil, false
}

// SetOperation sets the operation of the request served with ctx, as seen by
// transport.Transporter.Operation from then on. It does nothing outside an
// HTTP server request.
func SetOperation(ctx context.Context, op string) {
	if c, ok := ctx.Value(ctxKey{}).(*reqCtx); ok {
		c.op = op
	}
}

// ctxKey finds the *reqCtx of a request in its contexts.
type ctxKey struct{}

// serverTransportKey is the key transport.FromServerContext looks up. The
// server answers it from its own context type without the allocation of
// transport.NewServerContext.
var serverTransportKey = transport.ServerContextKey()
