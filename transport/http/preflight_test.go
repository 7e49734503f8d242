package http

import (
	"context"
	nethttp "net/http"
	"sync"
	"testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// seen records what a middleware saw of the requests it ran for.
type seen struct {
	mu    sync.Mutex
	ops   []string
	tpls  []string
	codes []int
}

func (s *seen) middleware() middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			reply, err := next(ctx, req)
			tr, _ := transport.FromServerContext(ctx)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.ops = append(s.ops, tr.Operation())
			s.tpls = append(s.tpls, tr.(interface{ PathTemplate() string }).PathTemplate())
			s.codes = append(s.codes, int(errors.FromError(err).Code))
			return reply, err
		}
	}
}

// answering is a middleware that answers preflights itself, as CORS does.
func answering(next middleware.Handler) middleware.Handler {
	return func(ctx context.Context, req any) (any, error) {
		tr, _ := transport.FromServerContext(ctx)
		r := tr.(interface{ Request() *nethttp.Request }).Request()
		if r.Method == nethttp.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			tr.ReplyHeader().Set("Access-Control-Allow-Origin", "*")
			tr.(interface{ Response() nethttp.ResponseWriter }).Response().WriteHeader(nethttp.StatusNoContent)
			return nil, nil
		}
		return next(ctx, req)
	}
}

func options(t *testing.T, c *nethttp.Client, url string, preflight bool) *nethttp.Response {
	t.Helper()
	req, err := nethttp.NewRequest(nethttp.MethodOptions, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if preflight {
		req.Header.Set("Origin", "http://127.0.0.1:1")
		req.Header.Set("Access-Control-Request-Method", "POST")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestPreflightRunsChain: OPTIONS requests to paths without an OPTIONS
// route run the server middleware chain, labelled with a route template of
// the path (never the raw path), and keep the reply they had before.
func TestPreflightRunsChain(t *testing.T) {
	var s seen
	srv, base := startServer(t, Middleware(s.middleware()))
	h := func(ctx Context) error { return ctx.String(200, "x") }
	r := srv.Route("/")
	r.GET("/v1/users/{id}", h)
	r.POST("/v1/users/{id}", h)
	r.POST("/v1/items/{id}:cancel", h, RouteOperation("cancel"))
	c := testClient(t)
	cases := []struct {
		name, path string
		preflight  bool
		status     int
		allow      string
		op, tpl    string
	}{
		{"GET and POST route with a variable", "/v1/users/7", true, 405, "GET, HEAD, POST", "/v1/users/{id}", "/v1/users/{id}"},
		{"OPTIONS that is no preflight", "/v1/users/7", false, 405, "GET, HEAD, POST", "/v1/users/{id}", "/v1/users/{id}"},
		{"custom verb route", "/v1/items/7:cancel", true, 405, "POST", "cancel", "/v1/items/{id}:cancel"},
		{"path without routes", "/nowhere/at/all", true, 404, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.mu.Lock()
			s.ops, s.tpls, s.codes = nil, nil, nil
			s.mu.Unlock()
			res := options(t, c, base+tc.path, tc.preflight)
			if res.StatusCode != tc.status || res.Header.Get("Allow") != tc.allow {
				t.Fatalf("status %d Allow %q, want %d %q", res.StatusCode, res.Header.Get("Allow"), tc.status, tc.allow)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.ops) != 1 || s.ops[0] != tc.op || s.tpls[0] != tc.tpl || s.codes[0] != tc.status {
				t.Fatalf("chain saw ops %q templates %q codes %v, want %q %q %d", s.ops, s.tpls, s.codes, tc.op, tc.tpl, tc.status)
			}
		})
	}
}

// TestPreflightAnsweredByMiddleware: a middleware that answers the
// preflight writes the reply, and what comes after it never runs.
func TestPreflightAnsweredByMiddleware(t *testing.T) {
	var s seen
	srv, base := startServer(t, Middleware(answering, s.middleware()))
	srv.Route("/").GET("/v1/hello", func(ctx Context) error { return ctx.String(200, "x") })
	res := options(t, testClient(t), base+"/v1/hello", true)
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("status %d headers %v", res.StatusCode, res.Header)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ops) != 0 {
		t.Fatalf("the middleware after the answering one ran for %q", s.ops)
	}
}

// TestPreflightWithoutMiddleware: with no middleware to answer them,
// OPTIONS requests get the 405 or 404 they always did, custom handlers
// included.
func TestPreflightWithoutMiddleware(t *testing.T) {
	teapot := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) { w.WriteHeader(418) })
	cases := []struct {
		name   string
		opts   []ServerOption
		path   string
		status int
	}{
		{"405", nil, "/v1/hello", 405},
		{"404", nil, "/nowhere", 404},
		{"MethodNotAllowedHandler", []ServerOption{MethodNotAllowedHandler(teapot)}, "/v1/hello", 418},
		{"MethodNotAllowedHandler inside the chain", []ServerOption{MethodNotAllowedHandler(teapot), Middleware(new(seen).middleware())}, "/v1/hello", 418},
		{"NotFoundHandler inside the chain", []ServerOption{NotFoundHandler(teapot), Middleware(new(seen).middleware())}, "/nowhere", 418},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := startServer(t, tc.opts...)
			srv.Route("/").GET("/v1/hello", func(ctx Context) error { return ctx.String(200, "x") })
			if res := options(t, testClient(t), base+tc.path, true); res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
		})
	}
}
