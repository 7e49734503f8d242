package chat_test

import (
	"bufio"
	"context"
	stdjson "encoding/json"
	"io"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/chat"
	v1 "github.com/zelos-go/zelos/examples/shop/chat/api/chat/v1"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// service is a running chat App.
type service struct {
	http, grpc string // http://host:port, host:port
	stop       func() time.Duration
}

func start(t *testing.T) *service {
	t.Helper()
	t.Setenv("DRAIN_DELAY", "0s")
	ctx := context.Background()
	app, cleanup, err := chat.NewApp(ctx, chat.Options{
		Registry: registry.NewInMemory(),
		Logger:   log.NewStdLogger(io.Discard),
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	s := &service{}
	stopped := false
	s.stop = func() time.Duration {
		if stopped {
			return 0
		}
		stopped = true
		begin := time.Now()
		_ = app.Stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		cleanup()
		return time.Since(begin)
	}
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(10 * time.Second)
	for s.http == "" || s.grpc == "" {
		if time.Now().After(deadline) {
			t.Fatal("the App never registered its endpoints")
		}
		for _, ep := range app.Endpoint() {
			if h, ok := strings.CutPrefix(ep, "grpc://"); ok {
				s.grpc = h
			} else if strings.HasPrefix(ep, "http://") {
				s.http = ep
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

func (s *service) dial(t *testing.T, room, user string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.http, "http") + "/api/v1/chat?room=" + room + "&user_id=" + user
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// roomMembers returns the members of room, from GET /api/v1/chat/rooms/ID.
func (s *service) roomMembers(t *testing.T, room string) []string {
	t.Helper()
	resp, err := nethttp.Get(s.http + "/api/v1/chat/rooms/" + room)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct{ Members []string }
	if err := stdjson.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	return reply.Members
}

// members waits until room has n members.
func (s *service) members(t *testing.T, room string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := s.roomMembers(t, room)
		if len(got) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s has members %q, want %d", room, got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reply is a MessageReply as JSON clients see it.
type reply struct {
	MessageID string `json:"messageId"`
	Content   string `json:"content"`
	UserID    string `json:"userId"`
	RoomID    string `json:"roomId"`
	Timestamp string `json:"timestamp"`
	// The fields of an error frame.
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

func send(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, c *websocket.Conn) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var r reply
	if typ != websocket.MessageText || stdjson.Unmarshal(data, &r) != nil {
		t.Fatalf("frame %v %q", typ, data)
	}
	return r
}

func TestWebSocketRoom(t *testing.T) {
	s := start(t)
	alice, bob := s.dial(t, "lobby", "alice"), s.dial(t, "lobby", "bob")
	carol := s.dial(t, "kitchen", "carol")
	s.members(t, "lobby", 2)
	s.members(t, "kitchen", 1)

	send(t, alice, `{"content":"hi all"}`)
	for name, c := range map[string]*websocket.Conn{"alice": alice, "bob": bob} {
		r := read(t, c)
		if r.Content != "hi all" || r.UserID != "alice" || r.RoomID != "lobby" || r.MessageID == "" {
			t.Errorf("%s got %+v", name, r)
		}
		if _, err := time.Parse(time.RFC3339, r.Timestamp); err != nil {
			t.Errorf("%s: timestamp %q: %v", name, r.Timestamp, err)
		}
	}
	// The other room got nothing: carol's first frame is her own message.
	send(t, carol, `{"content":"soup"}`)
	if r := read(t, carol); r.Content != "soup" {
		t.Errorf("carol got %+v", r)
	}

	t.Run("a bad frame is answered, and the member stays", func(t *testing.T) {
		for _, frame := range []string{`{"content":`, `{"content":""}`, `{"content":"` + strings.Repeat("x", 5000) + `"}`} {
			send(t, bob, frame)
			if r := read(t, bob); r.Code != 400 || r.Reason == "" {
				t.Errorf("frame %.20q: reply %+v, want a 400 error", frame, r)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := bob.Write(ctx, websocket.MessageBinary, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if r := read(t, bob); r.Reason != "INVALID_MESSAGE" {
			t.Errorf("binary frame: %+v", r)
		}
		send(t, bob, `{"content":"still here","room_id":"elsewhere"}`)
		for _, c := range []*websocket.Conn{alice, bob} {
			if r := read(t, c); r.Content != "still here" || r.RoomID != "lobby" || r.UserID != "bob" {
				t.Errorf("got %+v", r)
			}
		}
	})
	t.Run("the gateway's X-User-Id names the member", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		url := "ws" + strings.TrimPrefix(s.http, "http") + "/api/v1/chat?room=lobby&user_id=mallory"
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: nethttp.Header{"X-User-Id": {"dave"}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Body != nil {
			resp.Body.Close()
		}
		defer c.CloseNow()
		s.members(t, "lobby", 3)
		send(t, c, `{"content":"it is dave"}`)
		for _, m := range []*websocket.Conn{c, alice, bob} {
			if r := read(t, m); r.UserID != "dave" {
				t.Errorf("got %+v, want it from dave", r)
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
		s.members(t, "lobby", 2)
	})
	t.Run("a member that leaves leaves the room", func(t *testing.T) {
		alice.Close(websocket.StatusNormalClosure, "")
		s.members(t, "lobby", 1)
	})
}

func TestWebSocketRefused(t *testing.T) {
	s := start(t)
	for _, tc := range []struct {
		name, query, reason string
	}{
		{"no room", "", "ROOM_REQUIRED"},
		{"long room", "?room=" + strings.Repeat("r", 65), "INVALID_ROOM"},
		{"control character", "?room=a%0Ab", "INVALID_ROOM"},
		{"bad user", "?room=r&user_id=%FF", "INVALID_MESSAGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.http, "http")+"/api/v1/chat"+tc.query, nil)
			if err == nil || resp == nil {
				t.Fatalf("dial: %v, %v", resp, err)
			}
			defer resp.Body.Close()
			var e errors.Error
			if err := stdjson.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || e.Reason != tc.reason {
				t.Errorf("status %d, body %+v; want 400 %s", resp.StatusCode, e, tc.reason)
			}
		})
	}
}

func TestGRPCStreamAndWebSocket(t *testing.T) {
	s := start(t)
	cc, err := ggrpc.NewClient(s.grpc, ggrpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := v1.NewChatServiceClient(cc).SendMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An empty first message only joins.
	if err := stream.Send(&v1.MessageRequest{RoomId: "mixed", UserId: "grpc-user"}); err != nil {
		t.Fatal(err)
	}
	ws := s.dial(t, "mixed", "web-user")
	s.members(t, "mixed", 2)

	send(t, ws, `{"content":"from the browser"}`)
	got, err := stream.Recv()
	if err != nil || got.GetContent() != "from the browser" || got.GetUserId() != "web-user" {
		t.Fatalf("gRPC member got %v, %v", got, err)
	}
	if r := read(t, ws); r.Content != "from the browser" {
		t.Errorf("sender got %+v", r)
	}
	if err := stream.Send(&v1.MessageRequest{Content: "from gRPC"}); err != nil {
		t.Fatal(err)
	}
	if r := read(t, ws); r.Content != "from gRPC" || r.UserID != "grpc-user" || r.RoomID != "mixed" {
		t.Errorf("WebSocket member got %+v", r)
	}
	if got, err := stream.Recv(); err != nil || got.GetContent() != "from gRPC" {
		t.Errorf("gRPC sender got %v, %v", got, err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("after CloseSend: %v, want io.EOF", err)
	}
	s.members(t, "mixed", 1)

	t.Run("first message without a room", func(t *testing.T) {
		stream, err := v1.NewChatServiceClient(cc).SendMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = stream.Send(&v1.MessageRequest{Content: "hello?"})
		if _, err := stream.Recv(); !v1.IsRoomRequired(err) {
			t.Errorf("err %v, want ROOM_REQUIRED", err)
		}
	})
	t.Run("an empty message after joining ends the stream with its error", func(t *testing.T) {
		stream, err := v1.NewChatServiceClient(cc).SendMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = stream.Send(&v1.MessageRequest{RoomId: "r", Content: "one"})
		if m, err := stream.Recv(); err != nil || m.GetContent() != "one" {
			t.Fatalf("%v %v", m, err)
		}
		_ = stream.Send(&v1.MessageRequest{})
		if _, err := stream.Recv(); !v1.IsInvalidMessage(err) {
			t.Errorf("err %v, want INVALID_MESSAGE", err)
		}
	})
	t.Run("gRPC Subscribe", func(t *testing.T) {
		sub, err := v1.NewChatServiceClient(cc).Subscribe(ctx, &v1.SubscribeRequest{RoomId: "mixed", UserId: "reader"})
		if err != nil {
			t.Fatal(err)
		}
		s.members(t, "mixed", 2)
		send(t, ws, `{"content":"read me"}`)
		if m, err := sub.Recv(); err != nil || m.GetContent() != "read me" {
			t.Errorf("subscriber got %v, %v", m, err)
		}
		read(t, ws)
	})
}

func TestSSE(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := nethttp.NewRequestWithContext(ctx, "GET", s.http+"/api/v1/chat/events?room=news", nil)
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ws := s.dial(t, "news", "editor")
	s.members(t, "news", 2)
	send(t, ws, `{"content":"extra!"}`)

	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data:")
		if !ok {
			continue
		}
		var r reply
		if err := stdjson.Unmarshal([]byte(strings.TrimSpace(data)), &r); err != nil {
			t.Fatalf("data %q: %v", data, err)
		}
		if r.Content != "extra!" || r.UserID != "editor" || r.RoomID != "news" {
			t.Errorf("event %+v", r)
		}
		break
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}

	t.Run("without a room", func(t *testing.T) {
		resp, err := nethttp.Get(s.http + "/api/v1/chat/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "ROOM_REQUIRED") {
			t.Errorf("status %d, body %s", resp.StatusCode, body)
		}
	})
}

func TestStopClosesRooms(t *testing.T) {
	s := start(t)
	ws := s.dial(t, "r", "u")
	s.members(t, "r", 1)
	// A client reads all along, as browsers do: the close handshake
	// needs its answer.
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := ws.Read(ctx)
		closed <- err
	}()
	if d := s.stop(); d > 4*time.Second {
		t.Errorf("stop took %s: open WebSockets held it up", d)
	}
	if st := websocket.CloseStatus(<-closed); st != websocket.StatusGoingAway {
		t.Errorf("close status %v, want going away", st)
	}
}

// TestSlowMemberDropped: a member that stops reading is dropped from the
// room once its buffer and the connection's are full, and the others go
// on receiving every message in time.
func TestSlowMemberDropped(t *testing.T) {
	t.Setenv("CHAT_BUFFER", "4")
	s := start(t)
	slow := s.dial(t, "busy", "slow") // never reads
	fast := s.dial(t, "busy", "fast")
	s.members(t, "busy", 2)
	big := `{"content":"` + strings.Repeat("x", 4000) + `"}`
	// Kernel socket buffers hold a few MB before the slow member's writes
	// block; 4 kB messages fill them within a few thousand.
	for i := 0; ; i++ {
		send(t, fast, big)
		if r := read(t, fast); len(r.Content) != 4000 {
			t.Fatalf("message %d: fast got %+v", i, r)
		}
		if i%50 == 0 && len(s.roomMembers(t, "busy")) == 1 {
			t.Logf("slow member dropped after %d messages", i+1)
			break
		}
		if i == 20000 {
			t.Fatal("the slow member was never dropped")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := slow.Read(ctx)
		if err != nil {
			if st := websocket.CloseStatus(err); st != websocket.StatusTryAgainLater {
				t.Errorf("slow member: close status %v (%v), want 1013 try again later", st, err)
			}
			break
		}
	}
}

func TestNewAppRefuses(t *testing.T) {
	ctx := context.Background()
	if _, _, err := chat.NewApp(ctx, chat.Options{}); err == nil || !strings.Contains(err.Error(), "Registry") {
		t.Errorf("no registry: %v", err)
	}
	c, err := conf.Load([]byte("chat:\n  bufer: 3\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _, err = chat.NewApp(ctx, chat.Options{Registry: registry.NewInMemory(), Config: c, Logger: log.NewStdLogger(io.Discard)})
	if err == nil || !strings.Contains(err.Error(), "bufer") {
		t.Errorf("unknown key: %v", err)
	}
}
