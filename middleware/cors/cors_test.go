package cors_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/cors"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	allowed = "http://app.example.com"
	other   = "http://evil.example.org"
)

// api is a running Zelos HTTP server with CORS in front of a fake
// authentication middleware (Authorization: Bearer good, else 401), and
// counters of what got past CORS.
type api struct {
	base     string
	client   *nethttp.Client
	inner    atomic.Int32 // requests the middleware after CORS saw
	handlers atomic.Int32 // requests a handler saw
}

// fakeAuth stands for jwt.Server (its own module): a 401 error for a
// missing or wrong bearer token.
func fakeAuth(a *api) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			a.inner.Add(1)
			tr, _ := transport.FromServerContext(ctx)
			if tr.RequestHeader().Get("Authorization") != "Bearer good" {
				return nil, errors.Unauthorized("UNAUTHORIZED", "missing bearer token")
			}
			return next(ctx, req)
		}
	}
}

func startAPI(t *testing.T, opts []http.ServerOption, corsOpts ...cors.Option) *api {
	t.Helper()
	a := &api{client: &nethttp.Client{Transport: &nethttp.Transport{}}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	all := append([]http.ServerOption{http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard))}, opts...)
	if opts == nil {
		all = append(all, http.Middleware(cors.CORS(corsOpts...), fakeAuth(a)))
	}
	srv := http.NewServer(all...)
	r := srv.Route("/")
	hello := func(ctx http.Context) error {
		a.handlers.Add(1)
		return ctx.JSON(200, map[string]string{"message": "hello"})
	}
	r.GET("/v1/hello", hello)
	r.POST("/v1/hello", hello)
	r.GET("/v1/users/{id}", hello)
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		<-done
		a.client.CloseIdleConnections()
	})
	a.base = "http://" + lis.Addr().String()
	return a
}

// do sends a request with the headers given as name, value pairs and
// returns the reply with its body read.
func (a *api) do(t *testing.T, method, path string, kv ...string) (*nethttp.Response, string) {
	t.Helper()
	req, err := nethttp.NewRequest(method, a.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	res, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func preflight(origin, method, headers string) []string {
	kv := []string{"Origin", origin, "Access-Control-Request-Method", method}
	if headers != "" {
		kv = append(kv, "Access-Control-Request-Headers", headers)
	}
	return kv
}

// corsHeaders returns the Access-Control-* headers of res.
func corsHeaders(res *nethttp.Response) map[string]string {
	m := map[string]string{}
	for k := range res.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			m[k] = res.Header.Get(k)
		}
	}
	return m
}

func hasVaryOrigin(res *nethttp.Response) bool {
	for _, v := range res.Header.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Origin") {
				return true
			}
		}
	}
	return false
}

func TestPreflight(t *testing.T) {
	a := startAPI(t, nil, cors.WithAllowedOrigins(allowed), cors.WithAllowCredentials(true), cors.WithMaxAge(600))
	cases := []struct {
		name, path, origin, method, headers string
		ok                                  bool
	}{
		{"POST route with JSON and Authorization", "/v1/hello", allowed, "POST", "authorization,content-type", true},
		{"GET-only route with a variable", "/v1/users/42", allowed, "GET", "authorization", true},
		{"path without routes", "/nowhere", allowed, "GET", "", true},
		{"origin in another case", "/v1/hello", "HTTP://APP.example.com", "POST", "", true},
		{"disallowed origin", "/v1/hello", other, "POST", "content-type", false},
		{"disallowed method", "/v1/hello", allowed, "CONNECT", "", false},
		{"disallowed header", "/v1/hello", allowed, "POST", "content-type,x-secret", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inner, handlers := a.inner.Load(), a.handlers.Load()
			res, body := a.do(t, "OPTIONS", tc.path, preflight(tc.origin, tc.method, tc.headers)...)
			if res.StatusCode != 204 || body != "" {
				t.Fatalf("status %d body %q, want 204 and no body", res.StatusCode, body)
			}
			if a.inner.Load() != inner || a.handlers.Load() != handlers {
				t.Fatal("the preflight went past CORS")
			}
			if !hasVaryOrigin(res) {
				t.Fatalf("Vary = %q, want Origin in it", res.Header.Values("Vary"))
			}
			got := corsHeaders(res)
			if !tc.ok {
				if len(got) != 0 {
					t.Fatalf("refused preflight got CORS headers %v", got)
				}
				return
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":      tc.origin,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "GET, HEAD, POST, PUT, PATCH, DELETE",
				"Access-Control-Max-Age":           "600",
			}
			if tc.headers != "" {
				want["Access-Control-Allow-Headers"] = tc.headers
			}
			if len(got) != len(want) {
				t.Fatalf("CORS headers %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("%s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestActualRequests(t *testing.T) {
	a := startAPI(t, nil, cors.WithAllowedOrigins(allowed), cors.WithExposedHeaders("WWW-Authenticate", "X-Request-Id"), cors.WithAllowCredentials(true))
	cases := []struct {
		name, method, path, origin, auth string
		status                           int
		ok                               bool
	}{
		{"allowed origin gets the JSON", "GET", "/v1/hello", allowed, "Bearer good", 200, true},
		{"401 from the middleware after CORS", "POST", "/v1/hello", allowed, "", 401, true},
		{"OPTIONS that is no preflight runs the chain", "OPTIONS", "/v1/hello", allowed, "Bearer good", 405, true},
		{"disallowed origin", "GET", "/v1/hello", other, "Bearer good", 200, false},
		{"no origin", "GET", "/v1/hello", "", "Bearer good", 200, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kv := []string{"Authorization", tc.auth}
			if tc.origin != "" {
				kv = append(kv, "Origin", tc.origin)
			}
			res, body := a.do(t, tc.method, tc.path, kv...)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, body, tc.status)
			}
			if !hasVaryOrigin(res) {
				t.Fatalf("Vary = %q, want Origin in it", res.Header.Values("Vary"))
			}
			got := corsHeaders(res)
			if !tc.ok {
				if len(got) != 0 {
					t.Fatalf("CORS headers %v for an origin not allowed", got)
				}
				return
			}
			if got["Access-Control-Allow-Origin"] != tc.origin || got["Access-Control-Allow-Credentials"] != "true" ||
				got["Access-Control-Expose-Headers"] != "WWW-Authenticate, X-Request-Id" || len(got) != 3 {
				t.Fatalf("CORS headers %v", got)
			}
			if tc.status >= 400 {
				var e struct{ Code int }
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code != tc.status {
					t.Fatalf("error body %q is not the Zelos error (%v)", body, err)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	a := startAPI(t, nil)
	t.Run("any origin gets *", func(t *testing.T) {
		res, _ := a.do(t, "GET", "/v1/hello", "Origin", other, "Authorization", "Bearer good")
		if got := corsHeaders(res); got["Access-Control-Allow-Origin"] != "*" || len(got) != 1 {
			t.Fatalf("CORS headers %v, want only Allow-Origin *", got)
		}
		if !hasVaryOrigin(res) {
			t.Fatal("no Vary: Origin")
		}
	})
	t.Run("preflight", func(t *testing.T) {
		res, _ := a.do(t, "OPTIONS", "/v1/hello", preflight(other, "PUT", "Content-Type, Authorization, X-Requested-With")...)
		got := corsHeaders(res)
		want := map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
			"Access-Control-Allow-Headers": "Content-Type, Authorization, X-Requested-With",
		}
		if len(got) != len(want) {
			t.Fatalf("CORS headers %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s = %q, want %q", k, got[k], v)
			}
		}
	})
}

func TestWildcards(t *testing.T) {
	a := startAPI(t, nil, cors.WithAllowedOrigins("http://*.example.com"), cors.WithAllowedMethods("*"),
		cors.WithAllowedHeaders("*"), cors.WithAllowCredentials(true), cors.WithMaxAge(-1))
	res, _ := a.do(t, "OPTIONS", "/v1/hello", preflight("http://a.b.example.com", "PROPFIND", "x-anything, content-type")...)
	got := corsHeaders(res)
	want := map[string]string{
		// A pattern is reflected, never answered with "*", so it goes
		// with credentials.
		"Access-Control-Allow-Origin":      "http://a.b.example.com",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "PROPFIND",
		"Access-Control-Allow-Headers":     "x-anything, content-type",
		"Access-Control-Max-Age":           "0",
	}
	if len(got) != len(want) {
		t.Fatalf("CORS headers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestOriginPatterns(t *testing.T) {
	cases := []struct {
		pattern, origin string
		ok              bool
	}{
		{"https://*.example.com", "https://api.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", true},
		{"https://*.example.com", "https://API.Example.com", true},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://.example.com", false},
		{"https://*.example.com", "http://api.example.com", false},
		{"https://*.example.com", "https://api.example.com:8443", false},
		{"https://*.example.com", "https://api.example.com.evil.org", false},
		{"https://*.example.com", "https://evil.org/.example.com", false},
		{"https://*.example.com", "https://user@x.example.com", false},
		{"https://*.example.com", "https://evilexample.com", false},
		{"*.example.com", "http://api.example.com", true},
		{"*.example.com", "https://api.example.com", true},
		{"*.example.com", "api.example.com", false},
		{"*.example.com", "://api.example.com", false},
		{"*.example.com", "ht^tp://api.example.com", false},
		{"http://localhost:*", "http://localhost:5173", true},
		{"http://localhost:*", "http://localhost:", false},
		{"https://app.example.com", "https://app.example.com", true},
		{"https://app.example.com", "https://app.example.com.evil.org", false},
		{"null", "null", true},
		{"https://app.example.com", "null", false},
	}
	for _, tc := range cases {
		t.Run(tc.pattern+" "+tc.origin, func(t *testing.T) {
			h := cors.Filter(cors.WithAllowedOrigins(tc.pattern))(nethttp.NotFoundHandler())
			w := &recorder{h: nethttp.Header{}}
			r, _ := nethttp.NewRequest("GET", "/", nil)
			r.Header.Set("Origin", tc.origin)
			h.ServeHTTP(w, r)
			if got := w.h.Get("Access-Control-Allow-Origin"); (got == tc.origin) != tc.ok || (!tc.ok && got != "") {
				t.Fatalf("Allow-Origin = %q, want allowed %v", got, tc.ok)
			}
		})
	}
}

func TestAllowOriginFunc(t *testing.T) {
	h := cors.Filter(cors.WithAllowedOrigins("https://a.example.com"),
		cors.WithAllowOriginFunc(func(o string) bool { return o == "https://b.example.com" }))(nethttp.NotFoundHandler())
	for origin, want := range map[string]string{
		"https://a.example.com": "https://a.example.com",
		"https://b.example.com": "https://b.example.com",
		"https://c.example.com": "",
	} {
		t.Run(origin, func(t *testing.T) {
			w := &recorder{h: nethttp.Header{}}
			r, _ := nethttp.NewRequest("GET", "/", nil)
			r.Header.Set("Origin", origin)
			h.ServeHTTP(w, r)
			if got := w.h.Get("Access-Control-Allow-Origin"); got != want {
				t.Fatalf("Allow-Origin = %q, want %q", got, want)
			}
		})
	}
}

// recorder is a minimal ResponseWriter, so that these tests need no
// net/http/httptest.
type recorder struct {
	h    nethttp.Header
	code int
}

func (w *recorder) Header() nethttp.Header { return w.h }
func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *recorder) Write(b []byte) (int, error) { w.WriteHeader(200); return len(b), nil }

func TestInvalidOptionsPanic(t *testing.T) {
	cases := []struct {
		name string
		opts []cors.Option
		want string
	}{
		{"credentials with the default *", []cors.Option{cors.WithAllowCredentials(true)}, `middleware/cors: WithAllowCredentials(true) with the allowed origin "*"`},
		{"credentials with a listed *", []cors.Option{cors.WithAllowedOrigins("https://a.example.com", "*"), cors.WithAllowCredentials(true)}, `with the allowed origin "*"`},
		{"two stars", []cors.Option{cors.WithAllowedOrigins("https://*.*.example.com")}, `middleware/cors: allowed origin "https://*.*.example.com" has more than one "*"`},
	}
	for _, tc := range cases {
		for name, build := range map[string]func(){
			"CORS":   func() { cors.CORS(tc.opts...) },
			"Filter": func() { cors.Filter(tc.opts...) },
		} {
			t.Run(tc.name+" "+name, func(t *testing.T) {
				defer func() {
					if v, _ := recover().(string); !strings.Contains(v, tc.want) {
						t.Fatalf("panic %q, want it to contain %q", v, tc.want)
					}
				}()
				build()
			})
		}
	}
}

// TestFilter runs the same policy as a server filter, before routing.
func TestFilter(t *testing.T) {
	a := startAPI(t, []http.ServerOption{http.Filter(cors.Filter(cors.WithAllowedOrigins(allowed)))})
	t.Run("preflight", func(t *testing.T) {
		res, _ := a.do(t, "OPTIONS", "/nowhere", preflight(allowed, "POST", "content-type")...)
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != allowed ||
			res.Header.Get("Access-Control-Allow-Headers") != "content-type" || a.handlers.Load() != 0 {
			t.Fatalf("status %d, headers %v, handlers %d", res.StatusCode, corsHeaders(res), a.handlers.Load())
		}
	})
	t.Run("actual", func(t *testing.T) {
		res, body := a.do(t, "GET", "/v1/hello", "Origin", allowed)
		if res.StatusCode != 200 || !strings.Contains(body, "hello") || res.Header.Get("Access-Control-Allow-Origin") != allowed || !hasVaryOrigin(res) {
			t.Fatalf("status %d body %q headers %v", res.StatusCode, body, res.Header)
		}
	})
	t.Run("404 before routing", func(t *testing.T) {
		res, _ := a.do(t, "GET", "/nowhere", "Origin", allowed)
		if res.StatusCode != 404 || res.Header.Get("Access-Control-Allow-Origin") != allowed || !hasVaryOrigin(res) {
			t.Fatalf("status %d headers %v", res.StatusCode, res.Header)
		}
	})
	t.Run("disallowed", func(t *testing.T) {
		res, _ := a.do(t, "GET", "/v1/hello", "Origin", other)
		if got := corsHeaders(res); len(got) != 0 || !hasVaryOrigin(res) {
			t.Fatalf("headers %v", res.Header)
		}
	})
}

// fakeTransport is a Transporter of a kind or shape CORS leaves alone.
type fakeTransport struct{ kind transport.Kind }

func (f fakeTransport) Kind() transport.Kind            { return f.kind }
func (f fakeTransport) Endpoint() string                { return "" }
func (f fakeTransport) Operation() string               { return "/pkg.Svc/Method" }
func (f fakeTransport) RequestHeader() transport.Header { return http.HeaderCarrier{} }
func (f fakeTransport) ReplyHeader() transport.Header   { return http.HeaderCarrier{} }

func TestPassThrough(t *testing.T) {
	for name, ctx := range map[string]context.Context{
		"no transport":             context.Background(),
		"gRPC":                     transport.NewServerContext(context.Background(), fakeTransport{transport.KindGRPC}),
		"HTTP without its request": transport.NewServerContext(context.Background(), fakeTransport{transport.KindHTTP}),
	} {
		t.Run(name, func(t *testing.T) {
			called := false
			h := cors.CORS()(func(context.Context, any) (any, error) { called = true; return "ok", nil })
			if reply, err := h(ctx, nil); !called || reply != "ok" || err != nil {
				t.Fatalf("reply %v, %v; next called %v", reply, err, called)
			}
		})
	}
}
