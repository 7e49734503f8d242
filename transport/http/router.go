package http

import (
	"context"
	"fmt"
	nethttp "net/http"
	"slices"
	"strings"

	"github.com/coder/websocket"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/pathtpl"
	"github.com/zelos-go/zelos/middleware"
)

// Router registers routes under a path prefix, with net/http filters around
// them. Paths are google.api.http templates: /v1/users/{id},
// /v1/{name=shelves/*/books/*}, /files/{path=**}, /v1/users/{id}:cancel.
// An invalid template, or a route that conflicts with an existing one,
// panics at registration with a message naming it.
type Router struct {
	srv     *Server
	prefix  string
	filters []FilterFunc
}

// Route returns a Router for the routes under prefix (after the server's
// PathPrefix), with filters around each of them.
func (s *Server) Route(prefix string, filters ...FilterFunc) *Router {
	return &Router{srv: s, prefix: joinPath(s.prefix, prefix), filters: slices.Clone(filters)}
}

// Group returns a Router for the routes under r's prefix plus prefix, with
// r's filters and then filters around each of them.
func (r *Router) Group(prefix string, filters ...FilterFunc) *Router {
	return &Router{srv: r.srv, prefix: joinPath(r.prefix, prefix), filters: append(slices.Clone(r.filters), filters...)}
}

// joinPath joins a prefix and a path.
func joinPath(prefix, path string) string {
	prefix = strings.TrimSuffix(prefix, "/")
	if path == "" {
		if prefix == "" {
			return "/"
		}
		return prefix
	}
	if path[0] != '/' {
		path = "/" + path
	}
	return prefix + path
}

// Handle registers h for method and path. The method "" (or "*") accepts
// every method. h runs inside the server's middleware chain (request: the
// *nethttp.Request; operation: the path template unless RouteOperation
// sets it) unless SkipMiddleware is given.
func (r *Router) Handle(method, path string, h HandlerFunc, opts ...RouteOption) {
	rt := r.newRoute(method, path, opts)
	rt.wire(nil, func(c *reqCtx, _ context.Context, _ any) (any, error) {
		return nil, h(c)
	}, !rt.opts.skipMiddleware)
	r.register(rt)
}

// GET registers a GET route; it also serves HEAD.
func (r *Router) GET(path string, h HandlerFunc, opts ...RouteOption) {
	r.Handle(nethttp.MethodGet, path, h, opts...)
}

// POST registers a POST route.
func (r *Router) POST(path string, h HandlerFunc, opts ...RouteOption) {
	r.Handle(nethttp.MethodPost, path, h, opts...)
}

// PUT registers a PUT route.
func (r *Router) PUT(path string, h HandlerFunc, opts ...RouteOption) {
	r.Handle(nethttp.MethodPut, path, h, opts...)
}

// PATCH registers a PATCH route.
func (r *Router) PATCH(path string, h HandlerFunc, opts ...RouteOption) {
	r.Handle(nethttp.MethodPatch, path, h, opts...)
}

// DELETE registers a DELETE route.
func (r *Router) DELETE(path string, h HandlerFunc, opts ...RouteOption) {
	r.Handle(nethttp.MethodDelete, path, h, opts...)
}

// HEAD registers a HEAD route.
func (r *Router) HEAD(path string, h HandlerFunc, opts ...RouteOption) {
	r.Handle(nethttp.MethodHead, path, h, opts...)
}

// OPTIONS registers an OPTIONS route.
func (r *Router) OPTIONS(path string, h HandlerFunc, opts ...RouteOption) {
	r.Handle(nethttp.MethodOptions, path, h, opts...)
}

// errContextLost is returned when a middleware replaced the request context
// with one not derived from it.
var errContextLost = errors.InternalServer("CONTEXT_LOST", "a middleware replaced the request context")

func reqCtxFrom(ctx context.Context) (*reqCtx, error) {
	c, ok := ctx.Value(ctxKey{}).(*reqCtx)
	if !ok {
		return nil, errContextLost
	}
	return c, nil
}

// RouteOption configures one route.
type RouteOption func(*routeOptions)

type routeOptions struct {
	body           string
	bodySet        bool
	responseBody   string
	encoder        EncodeResponseFunc
	errorEncoder   EncodeErrorFunc
	ms             []middleware.Middleware
	op             string
	skipMiddleware bool
	sse            []SSEOption
	ws             *websocket.AcceptOptions
}

// Body sets where a Unary or ServerStream route's body goes: "*" for the
// whole request message, "field" for that top-level field (proto, json or Go
// name), "" for no body. The default is "*" for POST, PUT, PATCH and
// any-method routes, and "" otherwise.
func Body(field string) RouteOption {
	return func(o *routeOptions) { o.body, o.bodySet = field, true }
}

// ResponseBody makes a Unary route reply with that field of its reply
// message rather than the whole message.
func ResponseBody(field string) RouteOption {
	return func(o *routeOptions) { o.responseBody = field }
}

// RouteResponseEncoder sets the route's reply encoder, replacing the
// server's; use it, say, to wrap replies in an envelope.
func RouteResponseEncoder(enc EncodeResponseFunc) RouteOption {
	return func(o *routeOptions) { o.encoder = enc }
}

// RouteErrorEncoder sets the route's error encoder, replacing the server's.
func RouteErrorEncoder(enc EncodeErrorFunc) RouteOption {
	return func(o *routeOptions) { o.errorEncoder = enc }
}

// RouteMiddleware adds middleware for this route, inside the server's.
func RouteMiddleware(m ...middleware.Middleware) RouteOption {
	return func(o *routeOptions) { o.ms = append(o.ms, m...) }
}

// RouteOperation sets the operation the middleware sees for a hand-written
// route, instead of its path template.
func RouteOperation(op string) RouteOption { return func(o *routeOptions) { o.op = op } }

// SkipMiddleware makes a Router route's handler run outside the middleware
// chain; the handler can then run it around a decoded request itself with
// Context.Middleware, as in Kratos.
func SkipMiddleware() RouteOption { return func(o *routeOptions) { o.skipMiddleware = true } }

// StreamOptions sets the SSE options (such as Heartbeat) of a ServerStream
// route.
func StreamOptions(opts ...SSEOption) RouteOption {
	return func(o *routeOptions) { o.sse = append(o.sse, opts...) }
}

// route is a registered route. Everything that can be computed at
// registration is: the template, the middleware chain, the encoders.
type route struct {
	srv          *Server
	method       string
	pattern      string
	tpl          *pathtpl.Template
	op           string
	opts         routeOptions
	encoder      EncodeResponseFunc
	errorEncoder EncodeErrorFunc
	mw           middleware.Middleware // server and route middleware; nil if none
	chained      bool                  // handle runs inside mw
	handle       func(*reqCtx) error
	filtered     nethttp.Handler // the router's filters around serveFiltered
	filters      []FilterFunc
}

func (r *Router) newRoute(method, path string, opts []RouteOption) *route {
	rt := &route{srv: r.srv, method: normMethod(method), pattern: joinPath(r.prefix, path), filters: r.filters}
	for _, o := range opts {
		o(&rt.opts)
	}
	tpl, err := pathtpl.Parse(rt.pattern)
	if err != nil {
		panic(fmt.Sprintf("transport/http: route %s: %v", describeRoute(rt.method, rt.pattern), err))
	}
	rt.tpl = tpl
	rt.op = rt.pattern
	if rt.opts.op != "" {
		rt.op = rt.opts.op
	}
	rt.encoder, rt.errorEncoder = r.srv.encoder, r.srv.errorEncoder
	if rt.opts.encoder != nil {
		rt.encoder = rt.opts.encoder
	}
	if rt.opts.errorEncoder != nil {
		rt.errorEncoder = rt.opts.errorEncoder
	}
	if ms := append(slices.Clone(r.srv.ms), rt.opts.ms...); len(ms) > 0 {
		rt.mw = middleware.Chain(ms...)
	}
	return rt
}

func normMethod(m string) string {
	switch m = strings.ToUpper(strings.TrimSpace(m)); m {
	case "", "*", "ANY":
		return ""
	}
	return m
}

func describeRoute(method, pattern string) string {
	if method == "" {
		return pattern
	}
	return method + " " + pattern
}

// register adds rt to the server's routing tree.
func (r *Router) register(rt *route) {
	if len(rt.filters) > 0 {
		var h nethttp.Handler = nethttp.HandlerFunc(rt.serveFiltered)
		for i := len(rt.filters) - 1; i >= 0; i-- {
			h = rt.filters[i](h)
		}
		rt.filtered = h
	}
	s := r.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tree.Load().Clone()
	if err := t.Insert(rt.method, rt.tpl, rt); err != nil {
		panic("transport/http: " + err.Error())
	}
	s.tree.Store(t)
}

// handlePlain registers a net/http handler run inside the middleware chain.
func (r *Router) handlePlain(method, path string, h nethttp.Handler) {
	rt := r.newRoute(method, path, nil)
	rt.wire(nil, func(c *reqCtx, ctx context.Context, _ any) (any, error) {
		req := c.req.WithContext(ctx)
		req.Pattern = rt.pattern
		for i, v := range rt.tpl.Variables {
			s, ok := pathtpl.Unescape(c.raw[i], v.MultiSegment())
			if !ok {
				s = c.raw[i]
			}
			req.SetPathValue(v.Name, s)
		}
		c.done = true
		h.ServeHTTP(c.sw.ResponseWriter, req)
		if req.MultipartForm != nil && req.MultipartForm != c.req.MultipartForm {
			// req is our copy: neither net/http nor dispatch cleans up its form.
			_ = req.MultipartForm.RemoveAll()
		}
		return nil, nil
	}, true)
	r.register(rt)
}

// writtenStatus is the error the chain sees for an error status a handler
// wrote itself; it is not logged again as an error after the reply.
type writtenStatus struct{ err *errors.Error }

// Error implements error.
func (e *writtenStatus) Error() string { return e.err.Error() }

// Unwrap returns the error with the status as its code.
func (e *writtenStatus) Unwrap() error { return e.err }

// wire sets how rt serves a request, the same way for every kind of route:
// bind fills the request message (nil: the request is the
// *nethttp.Request), then the middleware chain (if chain is set) runs call
// with it, and call writes the reply.
//
// The chain observes every request with its true outcome, so that access
// logs, metrics and traces do not lie: a request that fails to bind still
// runs the chain, with the *nethttp.Request as the request and the binding
// error (400, 413, 415) as the handler's; call encodes the reply inside the
// chain, so an encoding failure is the call's error; and an error status
// the handler wrote itself is returned as an error. (Binding cannot
// move inside the chain: middleware such as validation must see the bound
// message.) A middleware that answers without calling the handler has its
// reply encoded after the chain.
func (rt *route) wire(bind func(*reqCtx) (any, error), call func(c *reqCtx, ctx context.Context, req any) (any, error), chain bool) {
	inner := func(ctx context.Context, req any) (any, error) {
		c, err := reqCtxFrom(ctx)
		if err != nil {
			return nil, err
		}
		c.cur, c.handled = ctx, true
		if c.bindErr != nil {
			return nil, c.bindErr
		}
		reply, err := call(c, ctx, req)
		if code := int(c.sw.status); err == nil && code >= 400 {
			// The handler wrote an error status itself (ctx.String(404,
			// ...)): the chain sees it as the call's outcome.
			err = &writtenStatus{errors.New(code, "", nethttp.StatusText(code))}
		}
		return reply, err
	}
	next := inner
	if chain && rt.mw != nil {
		next, rt.chained = rt.mw(inner), true
	}
	rt.handle = func(c *reqCtx) error {
		var req any = c.req
		if bind != nil {
			in, err := bind(c)
			if err != nil {
				c.bindErr = err
			} else {
				req = in
			}
		}
		reply, err := next(c.cur, req)
		if err == nil && !c.handled && reply != nil {
			return c.Result(nethttp.StatusOK, reply)
		}
		return err
	}
}
