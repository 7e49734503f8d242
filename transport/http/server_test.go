package http

import (
	"context"
	stderrors "errors"
	"fmt"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// echoRoute answers with the route's template and its variables.
func echoRoute(name string) HandlerFunc {
	return func(ctx Context) error {
		var b strings.Builder
		b.WriteString(name)
		for _, v := range ctx.(*reqCtx).rt.tpl.Variables {
			fmt.Fprintf(&b, " %s=%s", v.Name, ctx.Vars().Get(v.Name))
		}
		return ctx.String(200, b.String())
	}
}

func TestRouting(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	r.GET("/", echoRoute("root"))
	r.GET("/v1/users", echoRoute("list"))
	r.GET("/v1/users/me", echoRoute("me"))
	r.GET("/v1/users/{id}", echoRoute("get"))
	r.DELETE("/v1/users/{id}", echoRoute("delete"))
	r.POST("/v1/users/{id}:cancel", echoRoute("cancel"))
	r.GET("/v1/{name=shelves/*/books/*}", echoRoute("book"))
	r.GET("/v1/shelves/{shelf}/books/special", echoRoute("special"))
	r.GET("/files/{path=**}", echoRoute("files"))
	r.GET("/v1/{book.shelf}/x/{book.id}", echoRoute("nested"))
	g := srv.Route("/api").Group("/v2")
	g.PUT("/items/{id}", echoRoute("put"))
	r.Handle("*", "/any", echoRoute("any"))

	c := testClient(t)
	tests := []struct {
		method, path string
		want         string
	}{
		{"GET", "/", "root"},
		{"GET", "/v1/users", "list"},
		{"GET", "/v1/users/me", "me"},
		{"GET", "/v1/users/42", "get id=42"},
		{"DELETE", "/v1/users/42", "delete id=42"},
		{"POST", "/v1/users/42:cancel", "cancel id=42"},
		{"GET", "/v1/users/42:cancel", "get id=42:cancel"},
		{"GET", "/v1/users/a%20b", "get id=a b"},
		{"GET", "/v1/users/a%2Fb", "get id=a/b"},
		{"GET", "/v1/shelves/1/books/2", "book name=shelves/1/books/2"},
		{"GET", "/v1/shelves/1/books/special", "special shelf=1"},
		{"GET", "/files/a/b/c.txt", "files path=a/b/c.txt"},
		{"GET", "/files", "files path="},
		{"GET", "/v1/s1/x/7", "nested book.shelf=s1 book.id=7"},
		{"PUT", "/api/v2/items/9", "put id=9"},
		{"PATCH", "/any", "any"},
	}
	for _, tt := range tests {
		got := do(t, c, tt.method, base+tt.path, "", "")
		if got.status != 200 || got.body != tt.want {
			t.Errorf("%s %s = %d %q, want 200 %q", tt.method, tt.path, got.status, got.body, tt.want)
		}
	}
	// HEAD is served by the GET route, without a body.
	if got := do(t, c, "HEAD", base+"/v1/users/me", "", ""); got.status != 200 || got.body != "" {
		t.Errorf("HEAD = %d %q", got.status, got.body)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	r.GET("/v1/users/{id}", echoRoute("get"))
	r.DELETE("/v1/users/{id}", echoRoute("delete"))
	c := testClient(t)

	got := do(t, c, "GET", base+"/nope", "", "")
	code, reason, msg, _ := errBody(t, got)
	if got.status != 404 || code != 404 || reason != ReasonNotFound || !strings.Contains(msg, "/nope") {
		t.Errorf("404 reply = %d %s", got.status, got.body)
	}
	got = do(t, c, "POST", base+"/v1/users/1", "", "")
	code, reason, _, _ = errBody(t, got)
	if got.status != 405 || code != 405 || reason != ReasonMethodNotAllowed {
		t.Errorf("405 reply = %d %s", got.status, got.body)
	}
	if allow := got.header.Get("Allow"); allow != "DELETE, GET, HEAD" {
		t.Errorf("Allow = %q", allow)
	}
}

func TestCustomNotFoundHandlers(t *testing.T) {
	srv, base := startServer(t,
		NotFoundHandler(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
			w.WriteHeader(404)
			_, _ = w.Write([]byte("custom 404"))
		})),
		MethodNotAllowedHandler(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
			w.WriteHeader(405)
			_, _ = w.Write([]byte("custom 405 " + w.Header().Get("Allow")))
		})))
	srv.Route("/").GET("/x", echoRoute("x"))
	c := testClient(t)
	if got := do(t, c, "GET", base+"/y", "", ""); got.status != 404 || got.body != "custom 404" {
		t.Errorf("404 = %d %q", got.status, got.body)
	}
	if got := do(t, c, "POST", base+"/x", "", ""); got.status != 405 || got.body != "custom 405 GET, HEAD" {
		t.Errorf("405 = %d %q", got.status, got.body)
	}
}

func TestInvalidRoutesPanic(t *testing.T) {
	srv := NewServer(Logger(discard))
	r := srv.Route("/v1")
	mustPanic := func(want string, f func()) {
		t.Helper()
		defer func() {
			p := recover()
			if p == nil || !strings.Contains(fmt.Sprint(p), want) {
				t.Errorf("panic = %v, want one containing %q", p, want)
			}
		}()
		f()
	}
	mustPanic(`"/v1/users/{id"`, func() { r.GET("/users/{id", echoRoute("x")) })
	mustPanic(`"/v1/a/**/b"`, func() { r.GET("/a/**/b", echoRoute("x")) })
	r.GET("/users/{id}", echoRoute("x"))
	mustPanic("GET /v1/users/{name} conflicts with GET /v1/users/{id}", func() { r.GET("/users/{name}", echoRoute("x")) })
	mustPanic(`Body("nope")`, func() {
		Unary(r, "POST", "/things", "/T/Create", func(context.Context, *user) (*user, error) { return nil, nil }, Body("nope"))
	})
}

// recordOps is a middleware recording the operations it sees.
type recordOps struct {
	mu  sync.Mutex
	ops []string
}

func (o *recordOps) middleware(next middleware.Handler) middleware.Handler {
	return func(ctx context.Context, req any) (any, error) {
		tr, ok := transport.FromServerContext(ctx)
		if !ok {
			return nil, stderrors.New("no server transporter")
		}
		o.mu.Lock()
		o.ops = append(o.ops, fmt.Sprintf("%s %s %T", tr.Kind(), tr.Operation(), req))
		o.mu.Unlock()
		return next(ctx, req)
	}
}

func (o *recordOps) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	ops := o.ops
	o.ops = nil
	return ops
}

type ctxKeyT struct{}

func TestMiddlewareWrapsEveryRoute(t *testing.T) {
	var rec recordOps
	addValue := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			return next(context.WithValue(ctx, ctxKeyT{}, "mw"), req)
		}
	}
	srv, base := startServer(t, Middleware(rec.middleware, addValue))
	srv.Route("/").GET("/router/{id}", func(ctx Context) error {
		return ctx.String(200, fmt.Sprint(ctx.Value(ctxKeyT{})))
	})
	srv.HandleFunc("GET /plain/{name}", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		tr, _ := transport.FromServerContext(r.Context())
		fmt.Fprintf(w, "%v %s %s %s", r.Context().Value(ctxKeyT{}), r.PathValue("name"), r.Pattern, tr.Operation())
	})
	srv.HandlePrefix("/static/", nethttp.StripPrefix("/static/", nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "static %s", r.URL.Path)
	})))
	Unary(srv.Route("/"), "GET", "/rpc/{name}", "/pkg.Svc/Get", func(ctx context.Context, in *user) (*user, error) {
		if ctx.Value(ctxKeyT{}) != "mw" {
			return nil, stderrors.New("middleware value missing")
		}
		return in, nil
	})
	c := testClient(t)
	checks := []struct{ path, body string }{
		{"/router/1", "mw"},
		{"/plain/bob", "mw bob /plain/{name} /plain/{name}"},
		{"/static/css/a.css", "static css/a.css"},
		{"/rpc/ann", `{"id":0,"name":"ann"}`},
	}
	for _, ck := range checks {
		got := do(t, c, "GET", base+ck.path, "", "")
		if got.status != 200 || strings.TrimSpace(got.body) != ck.body {
			t.Errorf("GET %s = %d %q, want %q", ck.path, got.status, got.body, ck.body)
		}
	}
	want := []string{
		"http /router/{id} *http.Request",
		"http /plain/{name} *http.Request",
		"http /static/** *http.Request",
		"http /pkg.Svc/Get *http.user",
	}
	if got := rec.take(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("operations = %q, want %q", got, want)
	}
}

func TestMiddlewareErrorOnPlainHandler(t *testing.T) {
	deny := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			return nil, errors.Unauthorized("NO_TOKEN", "missing token")
		}
	}
	srv, base := startServer(t, Middleware(deny))
	srv.HandleFunc("/x", func(w nethttp.ResponseWriter, r *nethttp.Request) { t.Error("handler ran") })
	got := do(t, testClient(t), "GET", base+"/x", "", "")
	if code, reason, _, _ := errBody(t, got); got.status != 401 || code != 401 || reason != "NO_TOKEN" {
		t.Errorf("reply = %d %s", got.status, got.body)
	}
}

func TestTransporter(t *testing.T) {
	srv, base := startServer(t)
	srv.Route("/").GET("/t/{id}", func(ctx Context) error {
		tr, ok := transport.FromServerContext(ctx)
		if !ok {
			return stderrors.New("no transporter")
		}
		ht := tr.(Transporter)
		req, ok := RequestFromServerContext(ctx)
		if !ok || req != ctx.Request() || ht.Request() != req {
			return stderrors.New("RequestFromServerContext mismatch")
		}
		SetOperation(ctx, "/custom/Op")
		tr.ReplyHeader().Set("X-Reply", "r")
		return ctx.String(200, strings.Join([]string{
			tr.Kind().String(), tr.Endpoint(), tr.Operation(), ht.PathTemplate(),
			tr.RequestHeader().Get("X-Req"), strings.Join(tr.RequestHeader().Values("X-Req"), ","),
		}, "|"))
	})
	got := do(t, testClient(t), "GET", base+"/t/1", "", "", "X-Req", "q")
	want := "http|" + base + "|/custom/Op|/t/{id}|q|q"
	if got.body != want || got.header.Get("X-Reply") != "r" {
		t.Errorf("got %q (X-Reply %q), want %q", got.body, got.header.Get("X-Reply"), want)
	}
}

func TestFilters(t *testing.T) {
	var mu sync.Mutex
	var order []string
	filter := func(name string) FilterFunc {
		return func(next nethttp.Handler) nethttp.Handler {
			return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKeyT{}, name)))
			})
		}
	}
	srv, base := startServer(t, Filter(filter("s1"), filter("s2")))
	g := srv.Route("/g", filter("r1")).Group("/h", filter("r2"))
	g.GET("/x/{id}", func(ctx Context) error {
		return ctx.String(200, fmt.Sprint(ctx.Value(ctxKeyT{}), " ", ctx.Vars().Get("id")))
	})
	got := do(t, testClient(t), "GET", base+"/g/h/x/5", "", "")
	if got.body != "r2 5" {
		t.Errorf("body = %q", got.body)
	}
	if strings.Join(order, ",") != "s1,s2,r1,r2" {
		t.Errorf("filter order = %v", order)
	}
	// Server filters also run for unrouted paths.
	order = nil
	do(t, testClient(t), "GET", base+"/none", "", "")
	if strings.Join(order, ",") != "s1,s2" {
		t.Errorf("filter order for a 404 = %v", order)
	}
}

func TestTimeoutAndPrefix(t *testing.T) {
	srv, base := startServer(t, Timeout(time.Minute), PathPrefix("/api/"))
	srv.Route("/v1").GET("/deadline", func(ctx Context) error {
		d, ok := ctx.Deadline()
		if !ok || time.Until(d) > time.Minute {
			return stderrors.New("no request deadline")
		}
		return ctx.String(200, "ok")
	})
	if got := do(t, testClient(t), "GET", base+"/api/v1/deadline", "", ""); got.body != "ok" {
		t.Errorf("reply = %d %q", got.status, got.body)
	}
}

func TestHandlerErrors(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	r.GET("/plain", func(ctx Context) error { return stderrors.New("db password is hunter2") })
	r.GET("/typed", func(ctx Context) error {
		return errors.Conflict("USER_EXISTS", "user exists").WithMetadata(map[string]string{"id": "7"})
	})
	r.GET("/late", func(ctx Context) error {
		_ = ctx.String(202, "partial")
		return errors.Conflict("LATE", "too late")
	})
	r.GET("/badcode", func(ctx Context) error { return errors.New(1000, "WEIRD", "odd code") })
	c := testClient(t)

	got := do(t, c, "GET", base+"/plain", "", "")
	code, reason, msg, _ := errBody(t, got)
	if got.status != 500 || code != 500 || reason != "UNKNOWN" || strings.Contains(got.body, "hunter2") {
		t.Errorf("plain error reply = %d %s (%s)", got.status, got.body, msg)
	}
	got = do(t, c, "GET", base+"/typed", "", "")
	code, reason, _, md := errBody(t, got)
	if got.status != 409 || code != 409 || reason != "USER_EXISTS" || md["id"] != "7" {
		t.Errorf("typed error reply = %d %s", got.status, got.body)
	}
	got = do(t, c, "GET", base+"/late", "", "")
	if got.status != 202 || got.body != "partial" {
		t.Errorf("late error reply = %d %s", got.status, got.body)
	}
	got = do(t, c, "GET", base+"/badcode", "", "")
	if code, _, _, _ := errBody(t, got); got.status != 500 || code != 1000 {
		t.Errorf("bad code reply = %d %s", got.status, got.body)
	}
}

func TestResultStatusAndHelpers(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	r.POST("/created", func(ctx Context) error { return ctx.Result(201, &user{ID: 1}) })
	r.GET("/json", func(ctx Context) error { return ctx.JSON(203, map[string]int{"a": 1}) })
	r.GET("/blob", func(ctx Context) error { return ctx.Blob(200, "image/png", []byte{1, 2}) })
	r.GET("/nil", func(ctx Context) error { return ctx.Result(204, nil) })
	r.GET("/query", func(ctx Context) error { return ctx.String(200, ctx.Query().Get("q")+ctx.Header().Get("X-A")) })
	c := testClient(t)
	if got := do(t, c, "POST", base+"/created", "", ""); got.status != 201 || got.body != `{"id":1,"name":""}` ||
		got.header.Get("Content-Type") != "application/json" {
		t.Errorf("created = %d %q %v", got.status, got.body, got.header)
	}
	if got := do(t, c, "GET", base+"/json", "", ""); got.status != 203 || got.body != `{"a":1}` {
		t.Errorf("json = %d %q", got.status, got.body)
	}
	if got := do(t, c, "GET", base+"/blob", "", ""); got.header.Get("Content-Type") != "image/png" || got.body != "\x01\x02" {
		t.Errorf("blob = %d %q", got.status, got.body)
	}
	if got := do(t, c, "GET", base+"/nil", "", ""); got.status != 204 || got.body != "" {
		t.Errorf("nil = %d %q", got.status, got.body)
	}
	if got := do(t, c, "GET", base+"/query?q=x", "", "", "X-A", "y"); got.body != "xy" {
		t.Errorf("query = %q", got.body)
	}
}

func TestEndpoint(t *testing.T) {
	srv := NewServer(Address(":0"), Logger(discard))
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || port == "0" || port == "" {
		t.Fatalf("Endpoint = %v: no real port", u)
	}
	ip := net.ParseIP(host)
	if u.Scheme != "http" || ip == nil || ip.IsUnspecified() || !(ip.IsPrivate() || ip.IsLoopback()) {
		t.Fatalf("Endpoint = %v: want a private or loopback IP", u)
	}
	srv.Route("/").GET("/ping", func(ctx Context) error { return ctx.String(200, "pong") })
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(context.Background()) }()
	// Start reuses the listener Endpoint bound.
	got := do(t, testClient(t), "GET", "http://127.0.0.1:"+port+"/ping", "", "")
	if got.body != "pong" {
		t.Errorf("ping = %q", got.body)
	}
	u2, _ := srv.Endpoint()
	if u2.String() != u.String() {
		t.Errorf("Endpoint changed: %v then %v", u, u2)
	}
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	// Listen errors name the address.
	_, err = NewServer(Address("127.0.0.1:bad"), Logger(discard)).Endpoint()
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:bad") {
		t.Errorf("Endpoint error = %v", err)
	}
	// Stop before Start: Start returns at once.
	s2 := NewServer(Address("127.0.0.1:0"), Logger(discard))
	if err := s2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Endpoint after Stop does not open a listener nothing would close.
	if u, err := s2.Endpoint(); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("Endpoint after Stop = %v, %v; want a stopped error", u, err)
	}
}

func TestGracefulStop(t *testing.T) {
	srv := NewServer(Address("127.0.0.1:0"), Logger(discard))
	entered, release := make(chan struct{}), make(chan struct{})
	srv.Route("/").GET("/slow", func(ctx Context) error {
		close(entered)
		<-release
		return ctx.String(200, "finished")
	})
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(context.Background()) }()
	c := testClient(t)
	replies := make(chan reply, 1)
	go func() { replies <- do(t, c, "GET", u.String()+"/slow", "", "") }()
	<-entered
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stopped <- srv.Stop(ctx)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if got := <-replies; got.status != 200 || got.body != "finished" {
		t.Errorf("in-flight request = %d %q", got.status, got.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop = %v", err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Start = %v", err)
	}
}

func TestServeHTTPWithoutListener(t *testing.T) {
	srv := NewServer(Logger(discard))
	srv.Route("/").GET("/hello/{name}", func(ctx Context) error {
		return ctx.Result(200, map[string]string{"message": "Hello " + ctx.Vars().Get("name")})
	})
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/hello/zelos", nil))
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"message":"Hello zelos"}` {
		t.Errorf("reply = %d %q", w.Code, w.Body.String())
	}
}
