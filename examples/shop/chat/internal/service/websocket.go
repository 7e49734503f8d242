package service

import (
	"context"
	"errors"
	nethttp "net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/json"
	zerrors "github.com/zelos-go/zelos/errors"
	v1 "github.com/zelos-go/zelos/examples/shop/chat/api/chat/v1"
	"github.com/zelos-go/zelos/examples/shop/chat/internal/biz"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport/http"
)

// WebSocketPath is the route of the chat's WebSocket:
// GET /api/v1/chat?room=ID&user_id=ID.
const WebSocketPath = "/api/v1/chat"

// pingInterval is how often a WebSocket member is pinged, so that a
// client that vanished without closing is noticed and leaves its room.
const pingInterval = 30 * time.Second

// readLimit bounds an incoming frame: a message at its longest, escaped
// as JSON, plus room for the field names.
const readLimit = 2*biz.MaxContentLen + 1024

// CheckWebSocket is route middleware for the WebSocket: it refuses a
// request without a valid room (or with a malformed user_id) with an
// ordinary 400 error reply, before the upgrade.
func CheckWebSocket() middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			if r, ok := req.(*nethttp.Request); ok {
				q := r.URL.Query()
				if err := biz.ValidateRoom(q.Get("room")); err != nil {
					return nil, err
				}
				// Joining with a bad user_id would fail after the
				// upgrade; refusing it here gives a readable reply.
				if err := biz.ValidateUser(member(ctx, q.Get("user_id"))); err != nil {
					return nil, err
				}
			}
			return next(ctx, req)
		}
	}
}

// ServeWebSocket serves one member of a room over a WebSocket: each text
// frame in is a JSON MessageRequest, of which only content is used (the
// room and user are the query's), and each message of the room goes out
// as a JSON MessageReply. A frame that is not valid JSON or not a valid
// message is answered with a JSON error ({code, reason, message}) frame,
// and the member stays. The connection is closed with 1013 (try again
// later) when the member falls too far behind the room, and with 1001
// (going away) when the service stops.
func (s *ChatService) ServeWebSocket(ctx context.Context, conn *websocket.Conn) error {
	r, _ := http.RequestFromServerContext(ctx)
	q := r.URL.Query()
	room, user := q.Get("room"), member(ctx, q.Get("user_id"))
	sub, err := s.hub.Join(room, user)
	if err != nil {
		return err
	}
	defer sub.Leave()
	conn.SetReadLimit(readLimit)

	// The reader's context is not the handler's: that one ends when the
	// server stops, and a read canceled by it drops the connection
	// without a close frame. The writer sees the stop and closes first.
	readCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	codec := encoding.GetCodec(json.Name)
	// The reader publishes; refusals go to the writer, which owns the
	// writes (coder/websocket allows concurrent writers, but one keeps the
	// order of replies and errors plain).
	refusals := make(chan error, 8)
	readDone := make(chan error, 1)
	go func() {
		readDone <- s.readFrames(readCtx, conn, codec, sub, refusals)
	}()
	// Whatever ends the member, the reader is waited for, so no goroutine
	// outlives the connection.
	defer func() { cancel(); <-readDone }()

	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case m, ok := <-sub.Messages():
			if !ok {
				return closeFor(conn, sub.Err())
			}
			if err := writeJSON(ctx, conn, codec, toReply(m)); err != nil {
				return err
			}
		case err := <-refusals:
			if err := writeJSON(ctx, conn, codec, zerrors.FromError(err)); err != nil {
				return err
			}
		case err := <-readDone:
			readDone <- err // for the deferred wait
			return err
		case <-ctx.Done():
			return closeFor(conn, biz.ErrClosed)
		case <-ping.C:
			if err := conn.Ping(ctx); err != nil {
				return err
			}
		}
	}
}

// readFrames reads the member's frames until the connection ends.
func (s *ChatService) readFrames(ctx context.Context, conn *websocket.Conn, codec encoding.Codec, sub *biz.Subscription, refusals chan<- error) error {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		var in v1.MessageRequest
		switch {
		case typ != websocket.MessageText:
			err = v1.ErrorInvalidMessage("chat: send text frames of JSON {\"content\": ...}")
		case codec.Unmarshal(data, &in) != nil:
			err = v1.ErrorInvalidMessage("chat: a frame is not a JSON message {\"content\": ...}")
		default:
			_, err = s.hub.Publish(sub.Room(), sub.User(), in.GetContent())
		}
		if err != nil {
			if errors.Is(err, biz.ErrClosed) {
				return nil // the writer closes the connection
			}
			select {
			case refusals <- err:
			default: // a client flooding bad frames loses some refusals
			}
		}
	}
}

func writeJSON(ctx context.Context, conn *websocket.Conn, codec encoding.Codec, v any) error {
	data, err := codec.Marshal(v)
	if err != nil {
		return err
	}
	return conn.Write(ctx, websocket.MessageText, data)
}

// closeFor closes conn with the status that says why the member ended.
func closeFor(conn *websocket.Conn, err error) error {
	switch {
	case err == nil:
		return conn.Close(websocket.StatusNormalClosure, "")
	case errors.Is(err, biz.ErrSlowConsumer):
		return ignoreClosed(conn.Close(websocket.StatusTryAgainLater, "SLOW_CONSUMER"))
	default:
		return ignoreClosed(conn.Close(websocket.StatusGoingAway, zerrors.Reason(err)))
	}
}

// ignoreClosed drops the error of closing a connection the peer closed
// first: the member is gone either way.
func ignoreClosed(err error) error {
	if websocket.CloseStatus(err) != -1 {
		return nil
	}
	return err
}
