package http

import (
	"context"
	stderrors "errors"
	"fmt"
	nethttp "net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/transport"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
)

func newClient(t *testing.T, opts ...ClientOption) *Client {
	t.Helper()
	c, err := NewClient(context.Background(), append([]ClientOption{WithLogger(discard)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestClientInvoke(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	Unary(r, "GET", "/v1/res/{resource_type}/{resource_name=names/*}", "/Svc/Get",
		func(ctx context.Context, in *errdetails.ResourceInfo) (*errdetails.ResourceInfo, error) {
			tr, _ := transport.FromServerContext(ctx)
			tr.ReplyHeader().Set("X-Seen", tr.RequestHeader().Get("X-Client-Md")+","+tr.RequestHeader().Get("X-Call")+","+tr.RequestHeader().Get("User-Agent"))
			return in, nil
		})
	Unary(r, "POST", "/v1/users", "/Svc/Create",
		func(ctx context.Context, in *user) (*user, error) {
			in.ID = 42
			return in, nil
		})

	var seen []string
	var mu sync.Mutex
	clientMD := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromClientContext(ctx)
			if !ok {
				return nil, stderrors.New("no client transporter")
			}
			tr.RequestHeader().Set("X-Client-Md", "md")
			ht := tr.(Transporter)
			reply, err := next(ctx, req)
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s %s %s %s %s", tr.Kind(), tr.Operation(), ht.PathTemplate(), ht.Request().Method, tr.ReplyHeader().Get("X-Seen")))
			mu.Unlock()
			return reply, err
		}
	}
	for _, ct := range []string{"application/json", "application/x-protobuf"} {
		c := newClient(t, WithEndpoint(base), WithMiddleware(clientMD), WithUserAgent("zelos-test"), WithContentType(ct))
		in := &errdetails.ResourceInfo{ResourceType: "t 1", ResourceName: "names/n1", Owner: "o", Description: "d"}
		tpl := "/v1/res/{resource_type}/{resource_name=names/*}"
		path := EncodeURL(tpl, in, true)
		if want := "/v1/res/t%201/names/n1?description=d&owner=o"; path != want {
			t.Fatalf("EncodeURL = %q, want %q", path, want)
		}
		out := new(errdetails.ResourceInfo)
		var hdr nethttp.Header
		err := c.Invoke(context.Background(), "GET", path, nil, out, Operation("/Svc/Get"), PathTemplate(tpl), Header(&hdr),
			WithRequestHeader(nethttp.Header{"X-Call": {"call"}}))
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(out, in) {
			t.Errorf("%s: reply %v, want %v", ct, out, in)
		}
		if hdr.Get("X-Seen") != "md,call,zelos-test" {
			t.Errorf("%s: reply header X-Seen = %q", ct, hdr.Get("X-Seen"))
		}
		if want := "http /Svc/Get " + tpl + " GET md,call,zelos-test"; len(seen) == 0 || seen[len(seen)-1] != want {
			t.Errorf("%s: middleware saw %q, want %q", ct, seen, want)
		}
	}
	// A JSON body, and the default operation (the path).
	c := newClient(t, WithEndpoint(strings.TrimPrefix(base, "http://")), WithMiddleware(clientMD))
	var u user
	if err := c.Invoke(context.Background(), "POST", "/v1/users", &user{Name: "ann"}, &u); err != nil {
		t.Fatal(err)
	}
	if u.ID != 42 || u.Name != "ann" {
		t.Errorf("created %+v", u)
	}
	if last := seen[len(seen)-1]; !strings.HasPrefix(last, "http /v1/users /v1/users POST") {
		t.Errorf("default operation: %q", last)
	}
}

func TestClientErrors(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	want := errors.NotFound("USER_NOT_FOUND", "user 7 not found").WithMetadata(map[string]string{"id": "7"})
	r.GET("/typed", func(ctx Context) error { return want })
	r.GET("/plain", func(ctx Context) error { return stderrors.New("secret") })
	r.GET("/big", func(ctx Context) error { return ctx.String(200, `"`+strings.Repeat("x", 1000)+`"`) })
	r.GET("/slow", func(ctx Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	srv.HandleFunc("/html", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Error(w, "<html>bad gateway</html>", 502)
	})
	c := newClient(t, WithEndpoint(base), WithMaxResponseSize(100))
	ctx := context.Background()

	err := c.Invoke(ctx, "GET", "/typed", nil, nil)
	if se := errors.FromError(err); !se.Equal(want) || !errors.Is(err, want) {
		t.Errorf("typed error = %v, want %v", err, want)
	}
	err = c.Invoke(ctx, "GET", "/plain", nil, nil)
	if se := errors.FromError(err); se.Code != 500 || se.Reason != "UNKNOWN" || se.Message != "internal server error" {
		t.Errorf("plain error = %v", err)
	}
	err = c.Invoke(ctx, "GET", "/html", nil, nil)
	if se := errors.FromError(err); se.Code != 502 || se.Reason != "UNKNOWN" || !strings.Contains(se.Message, "bad gateway") {
		t.Errorf("html error = %v", err)
	}
	err = c.Invoke(ctx, "GET", "/nope", nil, nil)
	if se := errors.FromError(err); se.Code != 404 || se.Reason != ReasonNotFound {
		t.Errorf("404 = %v", err)
	}
	var s string
	err = c.Invoke(ctx, "GET", "/big", nil, &s)
	if errors.Reason(err) != ReasonResponseTooLarge {
		t.Errorf("big reply = %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = c.Invoke(tctx, "GET", "/slow", nil, nil)
	// The client sends its deadline (X-Zelos-Timeout), so either side may
	// give up first: the client with context.DeadlineExceeded, or the
	// server with its own 504 DEADLINE_EXCEEDED reply. Both are a 504.
	if errors.Code(err) != 504 || (!stderrors.Is(err, context.DeadlineExceeded) && errors.Reason(err) != "DEADLINE_EXCEEDED") {
		t.Errorf("deadline = %v", err)
	}
	ct := newClient(t, WithEndpoint(base), WithTimeout(50*time.Millisecond))
	if err := ct.Invoke(ctx, "GET", "/slow", nil, nil); errors.Code(err) != 504 {
		t.Errorf("client timeout = %v", err)
	}

	// An unreachable server.
	dead := newClient(t, WithEndpoint("http://127.0.0.1:1"))
	err = dead.Invoke(ctx, "GET", "/x", nil, nil)
	if se := errors.FromError(err); se.Code != 503 || se.Reason != ReasonUnavailable {
		t.Errorf("unreachable = %v", err)
	}
	// Unencodable input names the type.
	err = c.Invoke(ctx, "POST", "/x", make(chan int), nil)
	if err == nil || !strings.Contains(err.Error(), "chan int") {
		t.Errorf("bad input = %v", err)
	}
}

func TestNewClientErrors(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		opts []ClientOption
		want string
	}{
		{nil, "no endpoint"},
		{[]ClientOption{WithEndpoint("ftp://x")}, `unsupported scheme "ftp"`},
		{[]ClientOption{WithEndpoint("discovery:///svc")}, "needs WithDiscovery"},
		{[]ClientOption{WithEndpoint("discovery:///")}, "names no service"},
		{[]ClientOption{WithEndpoint("http://")}, "no host"},
	} {
		_, err := NewClient(ctx, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewClient(%v) = %v, want %q", tt.opts, err, tt.want)
		}
	}
}

func TestClientDiscovery(t *testing.T) {
	reg := registry.NewInMemory()
	ctx := context.Background()
	var instances []*registry.ServiceInstance
	for i := range 2 {
		name := fmt.Sprint("srv", i)
		srv, base := startServer(t)
		srv.Route("/").GET("/who", func(c Context) error { return c.String(200, name) })
		in := &registry.ServiceInstance{ID: name, Name: "greeter", Endpoints: []string{"grpc://127.0.0.1:1", base}}
		if err := reg.Register(ctx, in); err != nil {
			t.Fatal(err)
		}
		instances = append(instances, in)
	}
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := NewClient(bctx, WithEndpoint("discovery:///greeter"), WithDiscovery(reg), WithBlock(), WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[string]int{}
	for range 40 {
		var who string
		if err := c.Invoke(ctx, "GET", "/who", nil, &who); err != nil {
			t.Fatal(err)
		}
		seen[who]++
	}
	if seen["srv0"] == 0 || seen["srv1"] == 0 {
		t.Errorf("calls per node = %v, want both used", seen)
	}

	// Deregistering an instance takes it out of rotation.
	if err := reg.Deregister(ctx, instances[0]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		hits := 0
		for range 10 {
			var who string
			if err := c.Invoke(ctx, "GET", "/who", nil, &who); err == nil && who == "srv1" {
				hits++
			}
		}
		if hits == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deregistered node still gets calls")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A service without nodes: 503 NO_AVAILABLE_NODE.
	sel := selector.NewSelector(selector.Registry(reg))
	defer sel.Close()
	empty := newClient(t, WithEndpoint("discovery:///nobody"), WithSelector(sel))
	err = empty.Invoke(ctx, "GET", "/who", nil, nil)
	if se := errors.FromError(err); se.Code != 503 || se.Reason != selector.ReasonNoAvailableNode {
		t.Errorf("no nodes = %v", err)
	}
	// WithBlock gives up with its context.
	sctx, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer scancel()
	if _, err := NewClient(sctx, WithEndpoint("discovery:///nobody"), WithDiscovery(reg), WithBlock()); err == nil ||
		!strings.Contains(err.Error(), "nobody") {
		t.Errorf("blocking on an empty service = %v", err)
	}
}

func TestEncodeURL(t *testing.T) {
	type inner struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	type req struct {
		Book   inner  `json:"book"`
		Parent string `json:"parent"`
		Filter string `json:"filter,omitempty"`
	}
	tests := []struct {
		tpl       string
		msg       any
		needQuery bool
		want      string
	}{
		{"/v1/{parent=shelves/*}/books/{book.id}", &req{Book: inner{ID: 7, Name: "n"}, Parent: "shelves/s 1", Filter: "f"}, true,
			"/v1/shelves/s%201/books/7?book.name=n&filter=f"},
		{"/v1/{parent=shelves/*}/books/{book.id}", &req{Book: inner{ID: 7}, Parent: "shelves/a"}, false, "/v1/shelves/a/books/7"},
		{"/v1/{missing}", &req{}, false, "/v1/"},
		{"/v1/things:list", nil, true, "/v1/things:list"},
		{"/v1/{parent}:cancel", &req{Parent: "a/b"}, false, "/v1/a%2Fb:cancel"},
	}
	for _, tt := range tests {
		if got := EncodeURL(tt.tpl, tt.msg, tt.needQuery); got != tt.want {
			t.Errorf("EncodeURL(%q) = %q, want %q", tt.tpl, got, tt.want)
		}
	}
}

// A client middleware may call the rest of the chain more than once (a
// retry): every attempt must send the whole body.
func TestClientRetrySendsBodyAgain(t *testing.T) {
	srv, base := startServer(t)
	var mu sync.Mutex
	var names []string
	Unary(srv.Route("/"), "POST", "/v1/users", "/Svc/Create",
		func(ctx context.Context, in *user) (*user, error) {
			mu.Lock()
			names = append(names, in.Name)
			mu.Unlock()
			return in, nil
		})
	twice := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			if _, err := next(ctx, req); err != nil {
				return nil, fmt.Errorf("first attempt: %w", err)
			}
			return next(ctx, req)
		}
	}
	c := newClient(t, WithEndpoint(base), WithMiddleware(twice))
	var u user
	if err := c.Invoke(context.Background(), "POST", "/v1/users", &user{Name: "ann"}, &u); err != nil {
		t.Fatalf("Invoke with a retrying middleware: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 2 || names[0] != "ann" || names[1] != "ann" {
		t.Errorf("server received names %q, want [ann ann]", names)
	}
}

// WithMaxResponseSize(0), like the server's MaxBodySize(0), lifts the bound.
func TestClientMaxResponseSizeZeroIsUnbounded(t *testing.T) {
	srv, base := startServer(t)
	big := strings.Repeat("x", 1000)
	srv.Route("/").GET("/big", func(ctx Context) error { return ctx.String(200, big) })
	for _, n := range []int64{0, -1} {
		c := newClient(t, WithEndpoint(base), WithMaxResponseSize(n))
		var s string
		if err := c.Invoke(context.Background(), "GET", "/big", nil, &s); err != nil || s != big {
			t.Errorf("WithMaxResponseSize(%d): Invoke = %v, %d bytes", n, err, len(s))
		}
	}
}
