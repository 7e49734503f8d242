// Package transport defines what Zelos servers and clients have in common:
// the Server lifecycle used by the App, and the Transporter that carries
// per-request information (kind, endpoint, operation and headers) through
// the context so that middleware works the same over HTTP and gRPC.
package transport

import (
	"context"
	"net/url"
)

// Server is a transport server run by the App.
type Server interface {
	// Start serves until Stop is called or serving fails. It blocks.
	Start(ctx context.Context) error
	// Stop shuts the server down gracefully, giving up when ctx is done.
	Stop(ctx context.Context) error
}

// Endpointer is a Server that can tell the URL it is reachable at, such as
// grpc://127.0.0.1:9000. Endpoint binds the listener if it is not bound yet,
// so the App learns the real port (for ":0") before registering.
type Endpointer interface {
	Endpoint() (*url.URL, error)
}

// Kind is the kind of a transport.
type Kind string

// The transport kinds.
const (
	KindGRPC Kind = "grpc"
	KindHTTP Kind = "http"
)

// String returns the kind's name.
func (k Kind) String() string { return string(k) }

// Header is a case-insensitive view of transport headers (HTTP headers or
// gRPC metadata).
type Header interface {
	Get(key string) string
	Set(key, value string)
	Add(key, value string)
	Keys() []string
	Values(key string) []string
}

// Transporter is the per-request transport information, stored in the
// context by servers (NewServerContext) and clients (NewClientContext).
type Transporter interface {
	// Kind is the transport kind.
	Kind() Kind
	// Endpoint is the server's endpoint on the server side, and the target
	// endpoint on the client side.
	Endpoint() string
	// Operation is the full method name, /package.Service/Method, on both
	// transports. Plain HTTP routes use the route's path template.
	Operation() string
	// RequestHeader is the incoming (server) or outgoing (client) header.
	RequestHeader() Header
	// ReplyHeader is the header sent back (server) or received (client).
	ReplyHeader() Header
}

type serverKey struct{}
type clientKey struct{}

// ServerContextKey returns the context key under which NewServerContext
// stores the server Transporter. A transport whose per-request context type
// implements Value itself may answer this key directly, saving the
// allocation of NewServerContext on every request.
func ServerContextKey() any { return serverKey{} }

// ClientContextKey is ServerContextKey's counterpart for NewClientContext.
func ClientContextKey() any { return clientKey{} }

// NewServerContext returns a context carrying the server-side Transporter.
func NewServerContext(ctx context.Context, tr Transporter) context.Context {
	return context.WithValue(ctx, serverKey{}, tr)
}

// FromServerContext returns the server-side Transporter in ctx.
func FromServerContext(ctx context.Context) (Transporter, bool) {
	tr, ok := ctx.Value(serverKey{}).(Transporter)
	return tr, ok
}

// NewClientContext returns a context carrying the client-side Transporter.
func NewClientContext(ctx context.Context, tr Transporter) context.Context {
	return context.WithValue(ctx, clientKey{}, tr)
}

// FromClientContext returns the client-side Transporter in ctx.
func FromClientContext(ctx context.Context) (Transporter, bool) {
	tr, ok := ctx.Value(clientKey{}).(Transporter)
	return tr, ok
}
