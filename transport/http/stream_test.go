package http

import (
	"bufio"
	"context"
	"io"
	nethttp "net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// requireToken rejects requests without an X-Token header.
func requireToken(next middleware.Handler) middleware.Handler {
	return func(ctx context.Context, req any) (any, error) {
		r, ok := RequestFromServerContext(ctx)
		if !ok || r.Header.Get("X-Token") == "" {
			return nil, errors.Unauthorized("NO_TOKEN", "missing X-Token")
		}
		return next(ctx, req)
	}
}

// readEvent reads one SSE event block and returns its lines; comment-only
// blocks are returned too.
func readEvent(t *testing.T, br *bufio.Reader) []string {
	t.Helper()
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the event stream: %v (read %q)", err, lines)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return lines
		}
		lines = append(lines, line)
	}
}

func openStream(t *testing.T, ctx context.Context, url string, hdr ...string) *nethttp.Response {
	t.Helper()
	req, _ := nethttp.NewRequestWithContext(ctx, "GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := testClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSSE(t *testing.T) {
	srv, base := startServer(t, Middleware(requireToken))
	next := make(chan struct{})
	disconnected := make(chan struct{})
	srv.Route("/").GET("/events", func(ctx Context) error {
		w, err := ctx.SSE(Heartbeat(10 * time.Millisecond))
		if err != nil {
			return err
		}
		if err := w.Send(Event{ID: "1", Event: "greet", Data: []byte("hello\nworld\r\n!")}); err != nil {
			return err
		}
		<-next
		if err := w.Send(Event{Data: []byte("second"), Retry: 2 * time.Second}); err != nil {
			return err
		}
		if err := w.Send(Event{ID: "bad\nid"}); err == nil {
			t.Error("an ID with a line break was sent")
		}
		<-ctx.Done()
		<-w.Done()
		close(disconnected)
		return nil
	})

	// The middleware runs before the stream starts.
	if got := do(t, testClient(t), "GET", base+"/events", "", ""); got.status != 401 {
		t.Fatalf("no token = %d %q", got.status, got.body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := openStream(t, ctx, base+"/events", "X-Token", "t")
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("headers = %v", res.Header)
	}
	br := bufio.NewReader(res.Body)
	// The first event arrives before the handler sends the second: it was flushed.
	first := readEvent(t, br)
	for len(first) > 0 && strings.HasPrefix(first[0], ":") {
		first = readEvent(t, br)
	}
	if want := "id: 1|event: greet|data: hello|data: world|data: !"; strings.Join(first, "|") != want {
		t.Fatalf("first event = %q, want %q", first, want)
	}
	close(next)
	var second []string
	sawHeartbeat := false
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (second == nil || !sawHeartbeat) {
		ev := readEvent(t, br)
		if len(ev) == 1 && ev[0] == ":" {
			sawHeartbeat = true
			continue
		}
		second = ev
	}
	if strings.Join(second, "|") != "retry: 2000|data: second" || !sawHeartbeat {
		t.Fatalf("second event = %q, heartbeat seen: %v", second, sawHeartbeat)
	}
	// The client going away cancels the handler's context.
	cancel()
	select {
	case <-disconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not notice the disconnect")
	}
}

type countReq struct {
	N    int  `json:"n"`
	Fail bool `json:"fail"`
}

type countReply struct {
	I int `json:"i"`
}

func TestServerStream(t *testing.T) {
	srv, base := startServer(t)
	ServerStream(srv.Route("/"), "GET", "/count/{n}", "/Svc/Count",
		func(in *countReq, st grpc.ServerStreamingServer[countReply]) error {
			if err := st.SetHeader(metadata.Pairs("x-stream", "yes")); err != nil {
				return err
			}
			for i := range in.N {
				if err := st.Send(&countReply{I: i}); err != nil {
					return err
				}
			}
			if st.RecvMsg(nil) != io.EOF || st.Context() == nil {
				t.Error("RecvMsg or Context misbehave")
			}
			if in.Fail {
				return errors.Conflict("BOOM", "failed")
			}
			return nil
		}, StreamOptions(Heartbeat(0)))
	c := testClient(t)

	got := do(t, c, "GET", base+"/count/3", "", "")
	if got.status != 200 || got.header.Get("X-Stream") != "yes" || got.header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("stream reply = %d %v", got.status, got.header)
	}
	if want := "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\n"; got.body != want {
		t.Errorf("stream body = %q, want %q", got.body, want)
	}
	// An error before the first event is an ordinary error reply.
	got = do(t, c, "GET", base+"/count/0?fail=true", "", "")
	if _, reason, _, _ := errBody(t, got); got.status != 409 || reason != "BOOM" {
		t.Errorf("early error = %d %q", got.status, got.body)
	}
	// After events, an error event.
	got = do(t, c, "GET", base+"/count/1?fail=true", "", "")
	if !strings.HasSuffix(got.body, "event: error\ndata: {\"code\":409,\"reason\":\"BOOM\",\"message\":\"failed\"}\n\n") {
		t.Errorf("late error body = %q", got.body)
	}
	// Binding errors come before the stream.
	got = do(t, c, "GET", base+"/count/x", "", "")
	if got.status != 400 {
		t.Errorf("bad n = %d %q", got.status, got.body)
	}
}

func wsEcho(ctx context.Context, conn *websocket.Conn) error {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return nil
			}
			return err
		}
		if err := conn.Write(ctx, typ, data); err != nil {
			return err
		}
	}
}

func TestWebSocket(t *testing.T) {
	srv, base := startServer(t, Middleware(requireToken))
	srv.Route("/").WebSocket("/ws", wsEcho)
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Rejected by the middleware before the upgrade.
	_, res, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: testClient(t)})
	if err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("Dial without token: err %v, res %v", err, res)
	}
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), "NO_TOKEN") {
		t.Errorf("rejection body = %q", body)
	}

	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPClient: testClient(t),
		HTTPHeader: nethttp.Header{"X-Token": {"t"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"hello", "world"} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, data, err := conn.Read(ctx)
		if err != nil || string(data) != msg {
			t.Fatalf("echo = %q, %v", data, err)
		}
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}

	// A plain GET is not an upgrade: the 4xx comes from the upgrader.
	got := do(t, testClient(t), "GET", base+"/ws", "", "", "X-Token", "t")
	if got.status < 400 || got.status > 499 {
		t.Errorf("plain GET = %d %q", got.status, got.body)
	}
}

func TestStopEndsStreams(t *testing.T) {
	srv := NewServer(Address("127.0.0.1:0"), Logger(discard))
	srv.Route("/").WebSocket("/ws", wsEcho)
	srv.Route("/").GET("/sse", func(ctx Context) error {
		w, err := ctx.SSE()
		if err != nil {
			return err
		}
		_ = w.Send(Event{Data: []byte("x")})
		<-w.Done() // the client went away or the server is stopping
		return nil
	})
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	conn, _, err := websocket.Dial(ctx, "ws://"+u.Host+"/ws", &websocket.DialOptions{HTTPClient: testClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	res := openStream(t, ctx, u.String()+"/sse")
	defer res.Body.Close()
	readEvent(t, bufio.NewReader(res.Body))

	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); err == nil {
		t.Error("the WebSocket is still open after Stop")
	}
}

func TestNewSSEWriterNeedsFlusher(t *testing.T) {
	r, _ := nethttp.NewRequest("GET", "/", nil)
	if _, err := NewSSEWriter(noFlush{}, r); err == nil || !strings.Contains(err.Error(), "cannot flush") {
		t.Errorf("NewSSEWriter = %v", err)
	}
}

type noFlush struct{}

func (noFlush) Header() nethttp.Header      { return nethttp.Header{} }
func (noFlush) Write(b []byte) (int, error) { return len(b), nil }
func (noFlush) WriteHeader(int)             {}

func TestCloseReasonIsValidUTF8(t *testing.T) {
	se := errors.InternalServer("BROKEN", strings.Repeat("é", 100))
	got := closeReason(se)
	if len(got) > 123 || !utf8.ValidString(got) || !strings.HasPrefix(got, "BROKEN: é") {
		t.Errorf("closeReason = %q (%d bytes), want a valid UTF-8 prefix of at most 123 bytes", got, len(got))
	}
	if got := closeReason(errors.BadRequest("R", "short")); got != "R: short" {
		t.Errorf("closeReason = %q, want %q", got, "R: short")
	}
}
