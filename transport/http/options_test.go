package http

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

func TestServerEncodersAndDecoder(t *testing.T) {
	srv, base := startServer(t,
		ResponseEncoder(func(w nethttp.ResponseWriter, r *nethttp.Request, v any) error {
			_, err := fmt.Fprintf(w, "reply:%v", v)
			return err
		}),
		ErrorEncoder(func(w nethttp.ResponseWriter, r *nethttp.Request, err error) {
			w.WriteHeader(errors.Code(err))
			fmt.Fprintf(w, "error:%s", errors.Reason(err))
		}),
		RequestDecoder(func(r *nethttp.Request, v any) error {
			data, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			if string(data) == "bad" {
				return stderrors.New("bad body")
			}
			*(v.(*string)) = string(data)
			return nil
		}),
		MaxBodySize(8),
	)
	srv.Route("/").POST("/echo", func(ctx Context) error {
		var s string
		if err := ctx.Bind(&s); err != nil {
			return err
		}
		return ctx.Result(201, s)
	})
	c := testClient(t)
	if got := do(t, c, "POST", base+"/echo", "", "hi"); got.status != 201 || got.body != "reply:hi" {
		t.Errorf("echo = %d %q", got.status, got.body)
	}
	if got := do(t, c, "POST", base+"/echo", "", "bad"); got.status != 400 || got.body != "error:"+ReasonBadRequestBody {
		t.Errorf("bad = %d %q", got.status, got.body)
	}
	// The body limit also applies to custom decoders, chunked or not.
	req, _ := nethttp.NewRequest("POST", base+"/echo", struct{ io.Reader }{strings.NewReader("0123456789")})
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 413 || string(body) != "error:"+ReasonBodyTooLarge {
		t.Errorf("too large = %d %q", res.StatusCode, body)
	}
}

func TestRouteOptions(t *testing.T) {
	var rec recordOps
	srv, base := startServer(t, Middleware(rec.middleware))
	tag := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			reply, err := next(ctx, req)
			if s, ok := reply.(string); ok {
				reply = s + "+tagged"
			}
			return reply, err
		}
	}
	r := srv.Route("/")
	r.GET("/op", func(ctx Context) error { return ctx.String(200, "ok") }, RouteOperation("/custom.Svc/Op"))
	// Kratos style: the handler runs the chain itself around a decoded request.
	r.GET("/manual/{id}", func(ctx Context) error {
		h := ctx.Middleware(func(ctx context.Context, req any) (any, error) {
			return "id " + req.(string), nil
		})
		reply, err := h(ctx, ctx.PathValue("id"))
		if err != nil {
			return err
		}
		return ctx.String(200, reply.(string))
	}, SkipMiddleware(), RouteMiddleware(tag))
	// On a chained route Middleware is the identity.
	r.GET("/chained", func(ctx Context) error {
		reply, _ := ctx.Middleware(func(ctx context.Context, req any) (any, error) { return "plain", nil })(ctx, nil)
		return ctx.String(200, reply.(string))
	}, RouteMiddleware(tag))
	c := testClient(t)
	if got := do(t, c, "GET", base+"/op", "", ""); got.body != "ok" {
		t.Errorf("op = %q", got.body)
	}
	if got := do(t, c, "GET", base+"/manual/7", "", ""); got.body != "id 7+tagged" {
		t.Errorf("manual = %q", got.body)
	}
	if got := do(t, c, "GET", base+"/chained", "", ""); got.body != "plain" {
		t.Errorf("chained = %q", got.body)
	}
	want := []string{"http /custom.Svc/Op *http.Request", "http /manual/{id} string", "http /chained *http.Request"}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("operations = %q, want %q", got, want)
	}
}

func TestBindHelpers(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	r.POST("/users/{id}", func(ctx Context) error {
		var u user
		if err := ctx.BindForm(&u); err != nil {
			return err
		}
		if err := ctx.BindVars(&u); err != nil {
			return err
		}
		return ctx.Result(200, &u)
	})
	r.GET("/q", func(ctx Context) error {
		var u user
		if err := ctx.BindQuery(&u); err != nil {
			return err
		}
		return ctx.Result(200, &u)
	})
	r.GET("/none", func(ctx Context) error {
		var u user
		if err := ctx.BindVars(&u); err != nil {
			return err
		}
		return ctx.Result(200, &u)
	})
	c := testClient(t)
	if got := do(t, c, "POST", base+"/users/9?name=q", "application/x-www-form-urlencoded", "name=f"); got.body != `{"id":9,"name":"f"}` {
		t.Errorf("form+vars = %d %q", got.status, got.body)
	}
	if got := do(t, c, "POST", base+"/users/x", "application/x-www-form-urlencoded", ""); got.status != 400 ||
		!strings.Contains(got.body, ReasonInvalidPath) {
		t.Errorf("bad var = %d %q", got.status, got.body)
	}
	if got := do(t, c, "GET", base+"/q?id=3&name=n", "", ""); got.body != `{"id":3,"name":"n"}` {
		t.Errorf("query = %q", got.body)
	}
	if got := do(t, c, "GET", base+"/none", "", ""); got.body != `{"id":0,"name":""}` {
		t.Errorf("no vars = %q", got.body)
	}
}

func TestTLSAndListener(t *testing.T) {
	ts := httptest.NewTLSServer(nethttp.NotFoundHandler())
	tlsConf := ts.TLS.Clone()
	clientTLS := ts.Client().Transport.(*nethttp.Transport).TLSClientConfig.Clone()
	ts.Close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	configured := false
	srv, base := startServer(t, Listener(lis), TLSConfig(tlsConf), ConfigureServer(func(hs *nethttp.Server) {
		hs.WriteTimeout = time.Minute
		configured = true
	}))
	if !strings.HasPrefix(base, "https://127.0.0.1:") || !strings.HasSuffix(base, fmt.Sprint(lis.Addr().(*net.TCPAddr).Port)) {
		t.Fatalf("endpoint = %q", base)
	}
	Unary(srv.Route("/"), "GET", "/u/{id}", "/Svc/Get", func(ctx context.Context, in *user) (*user, error) { return in, nil })
	c := newClient(t, WithEndpoint(strings.TrimPrefix(base, "https://")), WithTLSConfig(clientTLS))
	var u user
	if err := c.Invoke(context.Background(), "GET", "/u/5", nil, &u); err != nil || u.ID != 5 {
		t.Fatalf("TLS call = %+v, %v", u, err)
	}
	if !configured {
		t.Error("ConfigureServer was not applied")
	}
	// WithTransport and per-call ContentType.
	tr := &nethttp.Transport{TLSClientConfig: clientTLS}
	defer tr.CloseIdleConnections()
	c2 := newClient(t, WithEndpoint(base), WithTransport(tr))
	if err := c2.Invoke(context.Background(), "GET", "u/6", nil, &u, ContentType("application/yaml")); err != nil || u.ID != 6 {
		t.Fatalf("custom transport call = %+v, %v", u, err)
	}
}

func TestClientDecoders(t *testing.T) {
	srv, base := startServer(t)
	srv.Route("/").GET("/x", func(ctx Context) error { return ctx.String(200, "body") })
	srv.Route("/").GET("/e", func(ctx Context) error { return errors.Conflict("C", "c") })
	c := newClient(t, WithEndpoint(base),
		WithResponseDecoder(func(ctx context.Context, res *nethttp.Response, out any) error {
			data, err := io.ReadAll(res.Body)
			*(out.(*string)) = "decoded " + string(data)
			return err
		}),
		WithErrorDecoder(func(ctx context.Context, res *nethttp.Response) error {
			return fmt.Errorf("status %d", res.StatusCode)
		}))
	var s string
	if err := c.Invoke(context.Background(), "GET", "/x", nil, &s); err != nil || s != "decoded body" {
		t.Errorf("decoded = %q, %v", s, err)
	}
	if err := c.Invoke(context.Background(), "GET", "/e", nil, &s); err == nil || err.Error() != "status 409" {
		t.Errorf("error = %v", err)
	}
	var raw []byte
	c2 := newClient(t, WithEndpoint(base))
	if err := c2.Invoke(context.Background(), "GET", "/x", nil, &raw); err != nil || string(raw) != "body" {
		t.Errorf("raw = %q, %v", raw, err)
	}
}

func TestHandlerPanicDoesNotKillServer(t *testing.T) {
	srv, base := startServer(t)
	srv.Route("/").GET("/panic", func(ctx Context) error { panic("boom") })
	srv.Route("/").GET("/ok", func(ctx Context) error { return ctx.String(200, "alive") })
	c := testClient(t)
	got := do(t, c, "GET", base+"/panic", "", "")
	if code, reason, _, _ := errBody(t, got); got.status != 500 || code != 500 || reason != ReasonPanic {
		t.Errorf("panicking handler = %d %q", got.status, got.body)
	}
	if got := do(t, c, "GET", base+"/ok", "", ""); got.body != "alive" {
		t.Errorf("after panic = %q", got.body)
	}
}

func TestStreamExtras(t *testing.T) {
	srv, base := startServer(t)
	ServerStream(srv.Route("/"), "GET", "/s", "/Svc/S",
		func(in *countReq, st grpc.ServerStreamingServer[countReply]) error {
			if err := st.SendHeader(metadata.Pairs("x-h", "1")); err != nil {
				return err
			}
			if err := st.SetHeader(metadata.Pairs("x-late", "1")); err == nil {
				return stderrors.New("SetHeader after start succeeded")
			}
			st.SetTrailer(metadata.Pairs("x-t", "1"))
			return st.SendMsg(&countReply{I: 1})
		})
	srv.Route("/").GET("/c", func(ctx Context) error {
		w, err := ctx.SSE(Heartbeat(0))
		if err != nil {
			return err
		}
		if w2, _ := ctx.SSE(); w2 != w {
			return stderrors.New("second SSE call gave another writer")
		}
		if err := w.Comment("a\nb"); err != nil {
			return err
		}
		if err := w.Send(Event{Event: "x\n"}); err == nil {
			return stderrors.New("event type with a line break was sent")
		}
		if err := w.Send(Event{Event: "only-type"}); err != nil {
			return err
		}
		_ = w.Close()
		if err := w.Send(Event{Data: []byte("late")}); err == nil {
			return stderrors.New("Send after Close succeeded")
		}
		return nil
	})
	c := testClient(t)
	if got := do(t, c, "GET", base+"/s", "", ""); got.header.Get("X-H") != "1" || got.body != "data: {\"i\":1}\n\n" {
		t.Errorf("stream = %v %q", got.header, got.body)
	}
	if got := do(t, c, "GET", base+"/c", "", ""); got.body != ": a b\n\nevent: only-type\n\n" {
		t.Errorf("comment stream = %q", got.body)
	}
}

func TestHeaderCarrier(t *testing.T) {
	h := HeaderCarrier(nethttp.Header{})
	h.Set("a", "1")
	h.Add("a", "2")
	h.Add("B", "3")
	keys := h.Keys()
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"A", "B"}) || !slices.Equal(h.Values("a"), []string{"1", "2"}) || h.Get("b") != "3" {
		t.Errorf("carrier = %v", h)
	}
	var _ transport.Header = h
}

func TestWebSocketOptions(t *testing.T) {
	srv, base := startServer(t)
	srv.Route("/").WebSocket("/ws", func(ctx context.Context, conn *websocket.Conn) error {
		if conn.Subprotocol() != "echo" {
			return stderrors.New("no subprotocol")
		}
		return errors.BadRequest("BYE", "closing with an error")
	}, WebSocketOptions(&websocket.AcceptOptions{Subprotocols: []string{"echo"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws",
		&websocket.DialOptions{HTTPClient: testClient(t), Subprotocols: []string{"echo"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	_, _, err = conn.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusInternalError || !strings.Contains(err.Error(), "BYE: closing with an error") {
		t.Errorf("close = %v", err)
	}
}
