package http

import (
	"context"
	nethttp "net/http"
	"sync"
)

// preflightRoute runs the OPTIONS requests that no route matches through
// the server middleware chain. Browsers send a CORS preflight (OPTIONS with
// Origin and Access-Control-Request-Method) before a cross-origin call to a
// path that is usually registered for GET or POST only; a CORS middleware
// in http.Middleware can only answer it if the chain runs for it. Without
// such a middleware the reply is the 405 (or 404) it always was, written
// inside the chain so that access logs and metrics count it.
type preflightRoute struct {
	once sync.Once
	rt   *route // nil if the server has no middleware
}

// servePreflight serves an OPTIONS request for path, which matched no
// route, and reports whether it did: it does not when the server has no
// middleware, as then nothing could answer a preflight.
func (s *Server) servePreflight(w nethttp.ResponseWriter, r *nethttp.Request, path string) bool {
	base := s.preflightBase()
	if base == nil {
		return false
	}
	// The chain sees the template and operation of a route of the path (so
	// metrics and traces stay labelled by template), or none for a path
	// without routes: never the raw path, whose cardinality is unbounded.
	rt := *base
	rt.pattern, rt.op = "", ""
	var buf [8]string
	tree := s.tree.Load()
	for _, m := range tree.Allowed(path, buf[:0]) {
		if e, _ := tree.Match(m, path); e != nil {
			rt.pattern, rt.op = e.Value.pattern, e.Value.op
			break
		}
	}
	c := &reqCtx{rt: &rt, req: r, op: rt.op, parent: r.Context()}
	c.sw.ResponseWriter = w
	c.cur = c.base()
	defer c.end(r)
	rt.serve(c)
	return true
}

// preflightBase returns the route shared by every preflight, built once:
// the server middleware around the reply noRoute would have written.
func (s *Server) preflightBase() *route {
	s.preflight.once.Do(func() {
		if len(s.ms) == 0 {
			return
		}
		rt := (&Router{srv: s}).newRoute(nethttp.MethodOptions, "/", nil)
		rt.wire(nil, func(c *reqCtx, _ context.Context, _ any) (any, error) {
			// The reply goes through c.sw, so the chain sees its status as
			// the call's outcome, as for a handler's own error reply.
			s.noRouteReply(&c.sw, c.req, c.req.URL.EscapedPath())
			return nil, nil
		}, true)
		s.preflight.rt = rt
	})
	return s.preflight.rt
}
