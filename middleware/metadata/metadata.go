// Package metadata propagates request metadata (package
// github.com/zelos-go/zelos/metadata) across service hops over any
// transport.
//
// Server copies the request headers with the metadata prefixes
// (x-md-global-, x-md-local-) into the server context, where handlers read
// them with metadata.FromServerContext. Client sends the metadata of the
// client context (metadata.NewClientContext, AppendToClientContext) as
// request headers, and forwards the x-md-global- keys of the server
// context, so that global metadata follows a request through every hop
// while local metadata stops after one.
//
// Neither allocates when there is no metadata to carry, apart from what a
// transport needs to list its request headers.
package metadata

import (
	"context"
	"strings"

	md "github.com/zelos-go/zelos/metadata"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// Option configures Server and Client.
type Option func(*options)

type options struct {
	prefixes   []string
	propagated []string
	constants  md.Metadata
}

// WithPrefix sets the header prefixes Server extracts, replacing the
// default md.GlobalPrefix and md.LocalPrefix. Matching ignores case.
func WithPrefix(prefixes ...string) Option {
	return func(o *options) { o.prefixes = prefixes }
}

// WithPropagatedPrefix sets the prefixes of the server-context keys Client
// forwards, replacing the default md.GlobalPrefix. Matching ignores case.
func WithPropagatedPrefix(prefixes ...string) Option {
	return func(o *options) { o.propagated = prefixes }
}

// WithConstants adds metadata to every request: Server adds it to the
// server context (request headers win), Client sends it (the context's
// metadata wins). Keys are lower-cased, as md.New does.
func WithConstants(c md.Metadata) Option {
	return func(o *options) { o.constants = md.New(c) }
}

func newOptions(opts []Option) options {
	o := options{
		prefixes:   []string{md.GlobalPrefix, md.LocalPrefix},
		propagated: []string{md.GlobalPrefix},
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Server returns middleware that puts the request's metadata headers, and
// the constants, into the server context.
func Server(opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromServerContext(ctx)
			if !ok {
				return next(ctx, req)
			}
			var out md.Metadata
			h := tr.RequestHeader()
			for _, k := range h.Keys() {
				if !hasPrefix(k, o.prefixes) {
					continue
				}
				if out == nil {
					out = o.constants.Clone()
				}
				lk := strings.ToLower(k)
				out[lk] = append(out[lk][:0:0], h.Values(k)...)
			}
			if out == nil && len(o.constants) > 0 {
				out = o.constants.Clone()
			}
			if out != nil {
				ctx = md.NewServerContext(ctx, out)
			}
			return next(ctx, req)
		}
	}
}

// Client returns middleware that sets the request headers of a call from
// the constants, the propagated keys of the server context and the client
// context's metadata, later ones replacing earlier ones.
func Client(opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromClientContext(ctx)
			if !ok {
				return next(ctx, req)
			}
			var h transport.Header
			for k, vs := range o.constants {
				h = set(h, tr, k, vs)
			}
			if smd, ok := md.FromServerContext(ctx); ok {
				for k, vs := range smd {
					if hasPrefix(k, o.propagated) {
						h = set(h, tr, k, vs)
					}
				}
			}
			if cmd, ok := md.FromClientContext(ctx); ok {
				for k, vs := range cmd {
					h = set(h, tr, k, vs)
				}
			}
			return next(ctx, req)
		}
	}
}

// set replaces the values of key in the request header, fetched on first
// use.
func set(h transport.Header, tr transport.Transporter, key string, values []string) transport.Header {
	if len(values) == 0 {
		return h
	}
	if h == nil {
		h = tr.RequestHeader()
	}
	h.Set(key, values[0])
	for _, v := range values[1:] {
		h.Add(key, v)
	}
	return h
}

func hasPrefix(key string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(key) >= len(p) && strings.EqualFold(key[:len(p)], p) {
			return true
		}
	}
	return false
}
