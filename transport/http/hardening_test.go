package http

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/recovery"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
)

// captureLogger keeps every record as a key-value map.
type captureLogger struct {
	mu   sync.Mutex
	recs []map[string]any
}

func (l *captureLogger) Log(level log.Level, kv ...any) error {
	m := map[string]any{"level": level}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	l.mu.Lock()
	l.recs = append(l.recs, m)
	l.mu.Unlock()
	return nil
}

// take returns the records logged so far and forgets them.
func (l *captureLogger) take() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.recs
	l.recs = nil
	return recs
}

// find returns the first record whose key k holds a string containing sub.
func (l *captureLogger) find(k, sub string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if s, ok := r[k].(string); ok && strings.Contains(s, sub) {
			return r
		}
	}
	return nil
}

// recordCodes is a middleware recording the code each request ends with,
// as the logging middleware computes it.
type recordCodes struct {
	mu    sync.Mutex
	codes []string
}

func (rc *recordCodes) middleware(next middleware.Handler) middleware.Handler {
	return func(ctx context.Context, req any) (any, error) {
		reply, err := next(ctx, req)
		code, reason := 200, ""
		if err != nil {
			se := errors.FromError(err)
			code, reason = int(se.Code), se.Reason
		}
		rc.mu.Lock()
		rc.codes = append(rc.codes, fmt.Sprintf("%d %s", code, reason))
		rc.mu.Unlock()
		return reply, err
	}
}

func (rc *recordCodes) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.codes)
}

func (rc *recordCodes) take() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	c := rc.codes
	rc.codes = nil
	return c
}

type numIn struct {
	N int `json:"n"`
}

type unencodable struct {
	F func() `json:"f"`
}

// TestChainSeesFinalStatus checks that the middleware chain observes bind
// failures (400, 413, 415) and encode failures with their true codes, as
// the access log does.
func TestChainSeesFinalStatus(t *testing.T) {
	var rec recordCodes
	accessLog := &captureLogger{}
	srv, base := startServer(t, MaxBodySize(64), Middleware(logging.Server(accessLog), rec.middleware))
	Unary(srv.Route("/"), "POST", "/num", "/T/Num", func(_ context.Context, in *numIn) (*numIn, error) { return in, nil })
	Unary(srv.Route("/"), "GET", "/bad", "/T/Bad", func(context.Context, *numIn) (*unencodable, error) {
		return &unencodable{F: func() {}}, nil
	})
	srv.Route("/").POST("/router", func(ctx Context) error {
		var in numIn
		if err := ctx.Bind(&in); err != nil {
			return err
		}
		return ctx.Result(200, &unencodable{F: func() {}})
	})
	srv.Route("/").GET("/written/{code}", func(ctx Context) error {
		code, _ := strconv.Atoi(ctx.PathValue("code"))
		return ctx.String(code, "written by the handler")
	})
	c := testClient(t)
	cases := []struct {
		name, method, path, ct, body, want string
	}{
		{"ok", "POST", "/num", "application/json", `{"n":1}`, "200 "},
		{"bad json", "POST", "/num", "application/json", `{"n":`, "400 " + ReasonBadRequestBody},
		{"too large", "POST", "/num", "application/json", `{"n":1,"x":"` + strings.Repeat("a", 100) + `"}`, "413 " + ReasonBodyTooLarge},
		{"media type", "POST", "/num", "text/csv", `n,1`, "415 " + ReasonUnsupportedMediaType},
		{"bad query", "POST", "/num?n=x", "application/json", `{}`, "400 " + ReasonInvalidQuery},
		{"encode", "GET", "/bad", "", "", "500 " + ReasonEncodeReply},
		{"router bind", "POST", "/router", "text/csv", `n,1`, "415 " + ReasonUnsupportedMediaType},
		{"router encode", "POST", "/router", "application/json", `{"n":1}`, "500 " + ReasonEncodeReply},
		{"written 201", "GET", "/written/201", "", "", "200 "},
		{"written 404", "GET", "/written/404", "", "", "404 "},
		{"written 503", "GET", "/written/503", "", "", "503 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, c, tc.method, base+tc.path, tc.ct, tc.body)
			codes := rec.take()
			if len(codes) != 1 || codes[0] != tc.want {
				t.Errorf("chain saw %q, want [%q] (reply %d %s)", codes, tc.want, got.status, got.body)
			}
			if want := tc.want[:3]; fmt.Sprint(got.status) != want && tc.name != "written 201" {
				t.Errorf("status = %d, want %s", got.status, want)
			}
			recs := accessLog.take()
			if len(recs) != 1 || fmt.Sprint(recs[0]["code"]) != tc.want[:3] {
				t.Errorf("access log = %v, want code %s", recs, tc.want[:3])
			}
		})
	}
}

// TestMiddlewareReplyWithoutHandler checks that a middleware answering
// without calling the handler still has its reply written.
func TestMiddlewareReplyWithoutHandler(t *testing.T) {
	cached := func(middleware.Handler) middleware.Handler {
		return func(context.Context, any) (any, error) { return &numIn{N: 7}, nil }
	}
	srv, base := startServer(t, Middleware(cached))
	Unary(srv.Route("/"), "GET", "/n", "/T/N", func(context.Context, *numIn) (*numIn, error) {
		t.Error("handler ran")
		return nil, nil
	})
	if got := do(t, testClient(t), "GET", base+"/n", "", ""); got.status != 200 || got.body != `{"n":7}` {
		t.Errorf("reply = %d %q", got.status, got.body)
	}
}

// TestPathVarInvalidUTF8 checks that a path variable that does not decode
// to UTF-8 is a 400 for a proto string field, as the query decoder answers,
// rather than a 500 when the reply is encoded.
func TestPathVarInvalidUTF8(t *testing.T) {
	srv, base := startServer(t)
	echo := func(_ context.Context, in *errdetails.ResourceInfo) (*errdetails.ResourceInfo, error) { return in, nil }
	Unary(srv.Route("/"), "GET", "/r/{resource_type}", "/T/R", echo)
	Unary(srv.Route("/"), "GET", "/f/{resource_name=**}", "/T/F", echo)
	c := testClient(t)
	for _, p := range []string{"/r/%ff", "/r/a%C3", "/f/a/%ff/b", "/r/ok?owner=%ff"} {
		t.Run(p, func(t *testing.T) {
			got := do(t, c, "GET", base+p, "", "")
			if code, reason, _, _ := errBody(t, got); got.status != 400 || code != 400 || (reason != ReasonInvalidPath && reason != ReasonInvalidQuery) {
				t.Errorf("reply = %d %s", got.status, got.body)
			}
		})
	}
	if got := do(t, c, "GET", base+"/r/%C3%A9t%C3%A9", "", ""); got.status != 200 || !strings.Contains(got.body, `"été"`) {
		t.Errorf("valid UTF-8 = %d %q", got.status, got.body)
	}
}

type countIn struct {
	N int `json:"n"`
}

type countOut struct {
	I int `json:"i"`
}

// TestServerStreamPanicAfterFirstEvent checks that a panic after the first
// event ends the stream with an error event carrying the PANIC error, and is
// logged, with or without the recovery middleware.
func TestServerStreamPanicAfterFirstEvent(t *testing.T) {
	for _, withRecovery := range []bool{true, false} {
		t.Run(fmt.Sprint("recovery=", withRecovery), func(t *testing.T) {
			logs := &captureLogger{}
			opts := []ServerOption{Logger(logs)}
			if withRecovery {
				opts = append(opts, Middleware(recovery.Recovery(recovery.WithLogger(logs))))
			}
			srv, base := startServer(t, opts...)
			ServerStream(srv.Route("/"), "GET", "/s", "/T/S", func(_ *countIn, st grpc.ServerStreamingServer[countOut]) error {
				if err := st.Send(&countOut{I: 1}); err != nil {
					return err
				}
				panic("boom")
			}, StreamOptions(Heartbeat(0)))
			got := do(t, testClient(t), "GET", base+"/s", "", "")
			want := "data: {\"i\":1}\n\nevent: error\ndata: {\"code\":500,\"reason\":\"PANIC\""
			if !strings.HasPrefix(got.body, want) {
				t.Errorf("stream = %q, want prefix %q", got.body, want)
			}
			if logs.find("panic", "boom") == nil {
				t.Errorf("panic not logged: %v", logs.take())
			}
		})
	}
}

// TestStreamEOFIsNormalEnd checks that stream handlers returning io.EOF
// (or the error of a read on a WebSocket the client closed) end normally.
func TestStreamEOFIsNormalEnd(t *testing.T) {
	var rec recordCodes
	logs := &captureLogger{}
	srv, base := startServer(t, Logger(logs), Middleware(rec.middleware))
	srv.Route("/").WebSocket("/eof", func(ctx context.Context, conn *websocket.Conn) error {
		if _, _, err := conn.Read(ctx); err != nil {
			return io.EOF
		}
		return stderrors.New("unexpected message")
	})
	srv.Route("/").WebSocket("/closed", func(ctx context.Context, conn *websocket.Conn) error {
		_, _, err := conn.Read(ctx)
		return err
	})
	ServerStream(srv.Route("/"), "GET", "/sse", "/T/S", func(_ *countIn, st grpc.ServerStreamingServer[countOut]) error {
		if err := st.Send(&countOut{I: 1}); err != nil {
			return err
		}
		return io.EOF
	}, StreamOptions(Heartbeat(0)))

	wsBase := "ws" + strings.TrimPrefix(base, "http")
	for _, p := range []string{"/eof", "/closed"} {
		t.Run("websocket"+p, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, wsBase+p, &websocket.DialOptions{HTTPClient: testClient(t)})
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.Close(websocket.StatusNormalClosure, "bye")
			waitFor(t, func() bool { return rec.count() > 0 })
			if codes := rec.take(); len(codes) != 1 || codes[0] != "200 " {
				t.Errorf("chain saw %q, want [200]", codes)
			}
			if r := logs.find("msg", "error after"); r != nil {
				t.Errorf("logged %v", r)
			}
		})
	}
	t.Run("sse", func(t *testing.T) {
		got := do(t, testClient(t), "GET", base+"/sse", "", "")
		if got.body != "data: {\"i\":1}\n\n" {
			t.Errorf("stream = %q", got.body)
		}
		if codes := rec.take(); len(codes) != 1 || codes[0] != "200 " {
			t.Errorf("chain saw %q, want [200]", codes)
		}
	})
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPanicsAreStructured500 checks that a panic in a server filter, a
// route filter or a handler (without the recovery middleware) is answered
// with a 500 PANIC error body, is logged, and leaves the server serving.
func TestPanicsAreStructured500(t *testing.T) {
	panicky := func(next nethttp.Handler) nethttp.Handler {
		return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
			if r.Header.Get("X-Panic") != "" {
				panic("filter boom")
			}
			next.ServeHTTP(w, r)
		})
	}
	logs := &captureLogger{}
	srv, base := startServer(t, Logger(logs), Filter(panicky))
	srv.Route("/").GET("/ok", func(ctx Context) error { return ctx.String(200, "alive") })
	srv.Route("/", func(next nethttp.Handler) nethttp.Handler {
		return nethttp.HandlerFunc(func(nethttp.ResponseWriter, *nethttp.Request) { panic("route filter boom") })
	}).GET("/rf", func(ctx Context) error { return nil })
	srv.Route("/").GET("/h", func(ctx Context) error { panic("handler boom") })
	srv.Route("/").GET("/late", func(ctx Context) error {
		_ = ctx.String(200, "partial")
		panic("late boom")
	})
	c := testClient(t)
	cases := []struct {
		name, path, panicMsg string
		hdr                  []string
	}{
		{"server filter", "/ok", "filter boom", []string{"X-Panic", "1"}},
		{"route filter", "/rf", "route filter boom", nil},
		{"handler", "/h", "handler boom", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, c, "GET", base+tc.path, "", "", tc.hdr...)
			if code, reason, _, _ := errBody(t, got); got.status != 500 || code != 500 || reason != recovery.Reason {
				t.Errorf("reply = %d %q", got.status, got.body)
			}
			if logs.find("panic", tc.panicMsg) == nil {
				t.Errorf("panic not logged: %v", logs.take())
			}
			if got := do(t, c, "GET", base+"/ok", "", ""); got.body != "alive" {
				t.Errorf("after the panic: %d %q", got.status, got.body)
			}
		})
	}
	t.Run("after the reply started", func(t *testing.T) {
		// The reply cannot be replaced: the connection is cut so that the
		// client sees a broken reply rather than a truncated success.
		res, err := c.Get(base + "/late")
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if err == nil && res.ContentLength != int64(len("partial")) {
			t.Errorf("a panicking handler's reply ended cleanly")
		}
		if logs.find("panic", "late boom") == nil {
			t.Errorf("panic not logged")
		}
	})
}

// sendSlowBody sends a POST to path with the headers and 8 of 1000
// promised bytes, and returns what the server sent until it closed the
// connection, which it must do within 5 s.
func sendSlowBody(t *testing.T, base, path string) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"n\":1, ", path)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	data, err := io.ReadAll(conn) // returns at EOF, when the server closed
	if err != nil {
		t.Fatalf("the connection stayed open: %v (read %q)", err, data)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %v", d)
	}
	return data
}

// TestSlowBodyIsCut sends the headers and 8 of 1000 promised bytes and
// checks that the server closes the connection once BodyTimeout passed.
func TestSlowBodyIsCut(t *testing.T) {
	srv, base := startServer(t, BodyTimeout(200*time.Millisecond))
	Unary(srv.Route("/"), "POST", "/num", "/T/Num", func(_ context.Context, in *numIn) (*numIn, error) { return in, nil })
	srv.Route("/").POST("/ignore", func(ctx Context) error {
		time.Sleep(300 * time.Millisecond) // the deadline passes while not reading
		return ctx.String(200, "ok")
	})
	for _, p := range []string{"/num", "/ignore"} {
		t.Run(p, func(t *testing.T) {
			data := sendSlowBody(t, base, p)
			if p == "/num" && !strings.Contains(string(data), "408") {
				t.Errorf("reply = %q, want a 408", data)
			}
		})
	}
	t.Run("a prompt body is read", func(t *testing.T) {
		got := do(t, testClient(t), "POST", base+"/num", "application/json", `{"n":3}`)
		if got.status != 200 || got.body != `{"n":3}` {
			t.Errorf("reply = %d %q", got.status, got.body)
		}
	})
}

// TestSlowBodyOverHTTP2 checks that BodyTimeout bounds a body sent on an
// HTTP/2 stream too: the handler's read fails and the client gets the 408.
func TestSlowBodyOverHTTP2(t *testing.T) {
	ts := httptest.NewTLSServer(nethttp.NotFoundHandler())
	tlsConf := ts.TLS.Clone()
	clientTLS := ts.Client().Transport.(*nethttp.Transport).TLSClientConfig.Clone()
	ts.Close()
	tlsConf.NextProtos = []string{"h2", "http/1.1"} // httptest offers HTTP/1.1 only
	srv, base := startServer(t, TLSConfig(tlsConf), BodyTimeout(200*time.Millisecond))
	Unary(srv.Route("/"), "POST", "/num", "/T/Num", func(_ context.Context, in *numIn) (*numIn, error) { return in, nil })

	tr := &nethttp.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte(`{"n":1, `)) }() // and nothing more
	req, _ := nethttp.NewRequest("POST", base+"/num", pr)
	req.Header.Set("Content-Type", "application/json")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := (&nethttp.Client{Transport: tr}).Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.ProtoMajor != 2 || res.StatusCode != 408 || !strings.Contains(string(body), ReasonBodyTimeout) {
		t.Errorf("reply = %s %d %q", res.Proto, res.StatusCode, body)
	}
}

// TestReadTimeoutWinsOverBodyTimeout checks that a net/http ReadTimeout set
// with ConfigureServer is not stretched by the longer default BodyTimeout.
func TestReadTimeoutWinsOverBodyTimeout(t *testing.T) {
	srv, base := startServer(t, BodyTimeout(time.Minute), ConfigureServer(func(hs *nethttp.Server) {
		hs.ReadTimeout = 200 * time.Millisecond
	}))
	Unary(srv.Route("/"), "POST", "/num", "/T/Num", func(_ context.Context, in *numIn) (*numIn, error) { return in, nil })
	sendSlowBody(t, base, "/num")
}

// TestStoppingLoggedOnlyWhenServing checks that Stop logs "stopping" only
// for a server that was serving.
func TestStoppingLoggedOnlyWhenServing(t *testing.T) {
	t.Run("never started", func(t *testing.T) {
		logs := &captureLogger{}
		srv := NewServer(Address("127.0.0.1:0"), Logger(logs))
		if _, err := srv.Endpoint(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := logs.find("msg", "stopping"); r != nil {
			t.Errorf("logged %v", r)
		}
	})
	t.Run("start failed", func(t *testing.T) {
		logs := &captureLogger{}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_ = lis.Close() // Serve fails at once
		srv := NewServer(Listener(lis), Logger(logs))
		if err := srv.Start(context.Background()); err == nil {
			t.Fatal("Start on a closed listener succeeded")
		}
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := logs.find("msg", "stopping"); r != nil {
			t.Errorf("logged %v", r)
		}
	})
	t.Run("serving", func(t *testing.T) {
		logs := &captureLogger{}
		srv := NewServer(Address("127.0.0.1:0"), Logger(logs))
		done := make(chan error, 1)
		go func() { done <- srv.Start(context.Background()) }()
		waitFor(t, func() bool { return logs.find("msg", "listening") != nil })
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if logs.find("msg", "stopping") == nil {
			t.Error("a serving server stopped without saying so")
		}
	})
}
