package service

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	v1 "github.com/zelos-go/zelos/examples/shop/chat/api/chat/v1"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/biz"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stream is a gRPC server stream fed from in and read from out.
type stream struct {
	grpc.ServerStream // the methods the service never calls panic
	ctx               context.Context
	in                chan *v1.MessageRequest
	out               chan *v1.MessageReply
}

func newStream(ctx context.Context) *stream {
	return &stream{ctx: ctx, in: make(chan *v1.MessageRequest), out: make(chan *v1.MessageReply, 16)}
}

func (s *stream) Context() context.Context      { return s.ctx }
func (s *stream) SendHeader(metadata.MD) error  { return nil }
func (s *stream) Send(m *v1.MessageReply) error { s.out <- m; return nil }

func (s *stream) Recv() (*v1.MessageRequest, error) {
	select {
	case m, ok := <-s.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

func (s *stream) next(t *testing.T) *v1.MessageReply {
	t.Helper()
	select {
	case m := <-s.out:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	return nil
}

func waitMembers(t *testing.T, hub *biz.Hub, room string, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(hub.Members(room)) != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("room %s: members %q, want %d", room, hub.Members(room), n)
		}
	}
}

func TestStreams(t *testing.T) {
	hub := biz.NewHub()
	s := NewChatService(hub, log.NewStdLogger(io.Discard))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	reader := newStream(ctx)
	subDone := make(chan error, 1)
	go func() { subDone <- s.Subscribe(&v1.SubscribeRequest{RoomId: "r", UserId: "reader"}, reader) }()
	waitMembers(t, hub, "r", 1)

	writer := newStream(ctx)
	sendDone := make(chan error, 1)
	go func() { sendDone <- s.SendMessage(writer) }()
	writer.in <- &v1.MessageRequest{RoomId: "r", UserId: "w", Content: "first"}
	for _, st := range []*stream{writer, reader} {
		if m := st.next(t); m.GetContent() != "first" || m.GetUserId() != "w" || m.GetRoomId() != "r" {
			t.Errorf("got %v", m)
		}
	}
	writer.in <- &v1.MessageRequest{Content: "second", RoomId: "ignored"}
	if m := reader.next(t); m.GetContent() != "second" || m.GetRoomId() != "r" {
		t.Errorf("got %v", m)
	}
	room, err := s.GetRoom(ctx, &v1.GetRoomRequest{RoomId: "r"})
	if err != nil || strings.Join(room.GetMembers(), ",") != "reader,w" {
		t.Errorf("room %v, %v", room, err)
	}
	if _, err := s.GetRoom(ctx, &v1.GetRoomRequest{}); !v1.IsRoomRequired(err) {
		t.Errorf("GetRoom without a room: %v", err)
	}
	close(writer.in)
	if err := <-sendDone; err != io.EOF {
		t.Errorf("SendMessage after the client's end: %v", err)
	}
	hub.Close()
	if err := <-subDone; !v1.IsChatClosed(err) {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

func TestSendMessageRefused(t *testing.T) {
	s := NewChatService(biz.NewHub(), log.NewStdLogger(io.Discard))
	st := newStream(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.SendMessage(st) }()
	st.in <- &v1.MessageRequest{Content: "no room"}
	if err := <-done; !v1.IsRoomRequired(err) {
		t.Errorf("err %v", err)
	}
}

func TestMember(t *testing.T) {
	if got := member(context.Background(), "asked"); got != "asked" {
		t.Errorf("without a transport: %q", got)
	}
	h := http.HeaderCarrier{}
	h.Set(UserHeader, "sub")
	ctx := transport.NewServerContext(context.Background(), header{h})
	if got := member(ctx, "asked"); got != "sub" {
		t.Errorf("with the gateway's header: %q", got)
	}
}

type header struct{ h http.HeaderCarrier }

func (header) Kind() transport.Kind              { return transport.KindHTTP }
func (header) Endpoint() string                  { return "" }
func (header) Operation() string                 { return WebSocketPath }
func (r header) RequestHeader() transport.Header { return r.h }
func (header) ReplyHeader() transport.Header     { return http.HeaderCarrier{} }

func TestWebSocket(t *testing.T) {
	hub := biz.NewHub()
	s := NewChatService(hub, log.NewStdLogger(io.Discard))
	srv := http.NewServer()
	srv.Route("").WebSocket(WebSocketPath, s.ServeWebSocket, http.RouteMiddleware(CheckWebSocket()))
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+WebSocketPath+"?room=r&user_id=u", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitMembers(t, hub, "r", 1)
	for _, tc := range []struct{ frame, want string }{
		{`{"content":"hi"}`, `"content":"hi"`},
		{`not json`, `"reason":"INVALID_MESSAGE"`},
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(tc.frame)); err != nil {
			t.Fatal(err)
		}
		_, data, err := c.Read(ctx)
		if err != nil || !strings.Contains(string(data), tc.want) {
			t.Errorf("frame %s: reply %s, %v; want %s", tc.frame, data, err, tc.want)
		}
	}
	// A stopping service closes its members with 1001, going away.
	closed := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		closed <- err
	}()
	hub.Close()
	if st := websocket.CloseStatus(<-closed); st != websocket.StatusGoingAway {
		t.Errorf("after the hub closed: %v, want going away", st)
	}
	if _, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+WebSocketPath, nil); err == nil {
		t.Error("dialed without a room")
	}
}
