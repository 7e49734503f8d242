// Package server registers the chat service on its HTTP and gRPC servers.
package server

import (
	"context"

	"github.com/coder/websocket"

	v1 "github.com/zelos-go/zelos/examples/shop/chat/api/chat/v1"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/service"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/transport/http"
)

// Register serves chat on svc's gRPC server and on its HTTP server: the
// google.api.http rules of chat.proto (the SSE stream
// GET /api/v1/chat/events, GET /api/v1/chat/rooms/{room_id}) and the
// WebSocket GET /api/v1/chat.
func Register(svc *kit.Service, chat *service.ChatService) {
	v1.RegisterChatServiceServer(svc.GRPC, chat)
	v1.RegisterChatServiceHTTPServer(svc.HTTP, chat)
	svc.HTTP.Route("").WebSocket(service.WebSocketPath, chat.ServeWebSocket,
		http.RouteMiddleware(service.CheckWebSocket()),
		// Browsers on any origin may join: the gateway in front decides
		// who gets through (JWT, CORS).
		http.WebSocketOptions(&websocket.AcceptOptions{InsecureSkipVerify: true}))
}

// HubCloser closes the hub when the App stops its servers. It is a
// transport.Server so that it runs beside them: closing the hub ends
// every member's stream and WebSocket, which a graceful stop of the gRPC
// and HTTP servers would otherwise wait for until the stop timeout.
type HubCloser struct{ Hub *biz.Hub }

// Start waits for ctx (the hub needs no serving).
func (h HubCloser) Start(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Stop closes the hub.
func (h HubCloser) Stop(context.Context) error {
	h.Hub.Close()
	return nil
}
