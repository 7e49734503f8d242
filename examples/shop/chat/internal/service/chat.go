// Package service adapts the chat hub to api/chat/v1 (the SendMessage and
// Subscribe streams, GetRoom) and to browsers: a WebSocket per member and
// Server-Sent Events for readers.
package service

import (
	"context"

	"google.golang.org/grpc"

	v1 "github.com/zelos-go/zelos/examples/shop/chat/api/chat/v1"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/biz"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport"
)

// ChatService implements api.chat.v1.ChatService.
type ChatService struct {
	v1.UnimplementedChatServiceServer

	hub *biz.Hub
	log *log.Helper
}

// NewChatService returns the service over hub.
func NewChatService(hub *biz.Hub, logger log.Logger) *ChatService {
	return &ChatService{hub: hub, log: log.NewHelper(logger)}
}

// UserHeader is the request header in which the gateway forwards the
// subject of the caller's verified token. When it is set, it is the
// member's user ID, whatever user_id the request gives, so that nobody
// speaks in the name of another through the gateway.
const UserHeader = "X-User-Id"

// member returns the user ID of a request that asked for requested.
func member(ctx context.Context, requested string) string {
	if tr, ok := transport.FromServerContext(ctx); ok {
		if sub := tr.RequestHeader().Get(UserHeader); sub != "" {
			return sub
		}
	}
	return requested
}

// timeLayout is RFC 3339 with milliseconds, so that messages of one
// second keep their order when sorted by time.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// toReply is m on the wire.
func toReply(m biz.Message) *v1.MessageReply {
	return &v1.MessageReply{
		MessageId: m.ID,
		Content:   m.Content,
		UserId:    m.UserID,
		RoomId:    m.RoomID,
		Timestamp: m.Time.UTC().Format(timeLayout),
	}
}

// SendMessage is the tutorial's bidirectional stream, extended to rooms:
// the first message joins the stream to its room_id (an empty content
// only joins), every message is then published to that room, and every
// message of the room, this member's own included, is sent back. Later
// messages go to the joined room whatever their room_id.
//
// The stream ends with the member: when the client closes its side, when
// it falls too far behind (SLOW_CONSUMER) or when the service stops
// (CHAT_CLOSED).
func (s *ChatService) SendMessage(stream grpc.BidiStreamingServer[v1.MessageRequest, v1.MessageReply]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	user := member(stream.Context(), first.GetUserId())
	sub, err := s.hub.Join(first.GetRoomId(), user)
	if err != nil {
		return err
	}
	defer sub.Leave()
	if first.GetContent() != "" {
		if _, err := s.hub.Publish(sub.Room(), user, first.GetContent()); err != nil {
			return err
		}
	}
	// Receiving blocks, so it has its own goroutine; Send stays on this
	// one, since a gRPC stream allows one sender and one receiver at a
	// time. A failed publish (an empty or too long message) ends the
	// stream with its error, as a unary call would fail.
	recvErr := make(chan error, 1)
	go func() {
		for {
			in, err := stream.Recv()
			if err == nil {
				_, err = s.hub.Publish(sub.Room(), user, in.GetContent())
			}
			if err != nil {
				recvErr <- err
				return
			}
		}
	}()
	for {
		select {
		case m, ok := <-sub.Messages():
			if !ok {
				return sub.Err()
			}
			if err := stream.Send(toReply(m)); err != nil {
				return err
			}
		case err := <-recvErr:
			return err // io.EOF, the client's end, is a normal end
		}
	}
}

// Subscribe streams the messages of a room, read-only: over gRPC, and over
// HTTP as Server-Sent Events (GET /api/v1/chat/events?room=ID).
func (s *ChatService) Subscribe(in *v1.SubscribeRequest, stream grpc.ServerStreamingServer[v1.MessageReply]) error {
	sub, err := s.hub.Join(in.GetRoomId(), member(stream.Context(), in.GetUserId()))
	if err != nil {
		return err
	}
	defer sub.Leave()
	// Headers now, not with the first message: an SSE client (and a
	// gRPC one) learns at once that it joined, and a quiet room does not
	// look like a hung request.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	done := stream.Context().Done()
	for {
		select {
		case m, ok := <-sub.Messages():
			if !ok {
				return sub.Err()
			}
			if err := stream.Send(toReply(m)); err != nil {
				return err
			}
		case <-done:
			return nil
		}
	}
}

// GetRoom returns who is in a room now.
func (s *ChatService) GetRoom(_ context.Context, in *v1.GetRoomRequest) (*v1.GetRoomReply, error) {
	if err := biz.ValidateRoom(in.GetRoomId()); err != nil {
		return nil, err
	}
	return &v1.GetRoomReply{RoomId: in.GetRoomId(), Members: s.hub.Members(in.GetRoomId())}, nil
}

var _ v1.ChatServiceServer = (*ChatService)(nil)
