package server_test

import (
	"context"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	v1 "github.com/zelos-go/zelos/examples/shop/chat/api/chat/v1"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/server"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/service"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/log"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHubCloser(t *testing.T) {
	hub := biz.NewHub()
	member, err := hub.Join("r", "u")
	if err != nil {
		t.Fatal(err)
	}
	c := server.HubCloser{Hub: hub}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan error, 1)
	go func() { started <- c.Start(ctx) }()
	select {
	case err := <-started:
		t.Fatalf("Start returned before its context ended: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-member.Messages(); ok || !v1.IsChatClosed(member.Err()) {
		t.Errorf("member after Stop: %v", member.Err())
	}
	cancel()
	if err := <-started; err != nil {
		t.Errorf("Start: %v", err)
	}
}

func TestRegister(t *testing.T) {
	svc, err := kit.New(context.Background(), kit.Options{Server: conf.Server{Name: "chat.service"},
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Logger: log.NewStdLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	server.Register(svc, service.NewChatService(biz.NewHub(), log.NewStdLogger(io.Discard)))
	ts := httptest.NewServer(svc.HTTP)
	defer ts.Close()
	for path, want := range map[string]int{
		"/api/v1/chat/rooms/lobby": 200, // GetRoom, from chat.proto's rules
		"/api/v1/chat":             400, // the WebSocket, refused without a room
		"/api/v1/chat/events":      400, // the SSE stream, refused without a room
	} {
		resp, err := nethttp.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if _, ok := svc.GRPC.GetServiceInfo()["api.chat.v1.ChatService"]; !ok {
		t.Error("ChatService not on the gRPC server")
	}
}
