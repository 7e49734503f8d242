package http

import (
	"context"
	stderrors "errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/zelos-go/zelos/errors"
)

// WebSocketHandler serves an accepted WebSocket connection. Its context ends
// when the server stops; the connection is closed when it returns, with
// StatusNormalClosure, or StatusInternalError if it returned an error.
type WebSocketHandler func(ctx context.Context, conn *websocket.Conn) error

// WebSocketOptions sets the accept options of a WebSocket route, such as
// OriginPatterns or Subprotocols.
func WebSocketOptions(o *websocket.AcceptOptions) RouteOption {
	return func(ro *routeOptions) { ro.ws = o }
}

// WebSocket registers a GET route that upgrades to a WebSocket and runs h.
// The server chain (request: the *nethttp.Request; operation: the path
// template unless RouteOperation sets it) wraps the upgrade and h, so a
// middleware that fails the request (authentication, say) is answered with
// an ordinary error reply before any upgrade. Stop waits for the handlers.
func (r *Router) WebSocket(path string, h WebSocketHandler, opts ...RouteOption) {
	rt := r.newRoute("GET", path, opts)
	rt.wire(nil, func(c *reqCtx, ctx context.Context, _ any) (any, error) {
		srv := rt.srv
		if !srv.streams.add() {
			return nil, errors.ServiceUnavailable("SERVER_STOPPING", "the server is stopping")
		}
		defer srv.streams.done()
		c.done = true           // Accept answers failed upgrades itself
		liftBodyDeadline(c.req) // the connection outlives the request
		conn, err := websocket.Accept(c.sw.ResponseWriter, c.req, rt.opts.ws)
		if err != nil {
			return nil, errors.BadRequest("WEBSOCKET_UPGRADE", err.Error())
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(srv.streamCtx, cancel)
		defer stop()
		defer func() {
			// A panic would leave the hijacked connection open and the
			// client waiting: close it as an internal error, then let the
			// panic go on to the recovery middleware (or the transport's)
			// to be logged with its stack.
			if v := recover(); v != nil {
				_ = conn.Close(websocket.StatusInternalError, ReasonPanic+": internal server error")
				panic(v)
			}
		}()
		if err := h(sctx, conn); err != nil && !normalClose(err) {
			_ = conn.Close(websocket.StatusInternalError, closeReason(errors.FromError(err)))
			return nil, err
		}
		_ = conn.Close(websocket.StatusNormalClosure, "")
		return nil, nil
	}, true)
	r.register(rt)
}

// normalClose reports whether a handler's error only says that the client
// ended the conversation: io.EOF, or the error of a read after the client
// closed with StatusNormalClosure or StatusGoingAway. Handlers pass these on
// as they come, so they are a normal end, not a 500.
func normalClose(err error) bool {
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return true
	}
	return stderrors.Is(err, io.EOF)
}

// closeReason is the error's reason and message, cut to the 123 bytes a
// close frame allows without splitting a UTF-8 character (peers fail the
// connection on a reason that is not valid UTF-8).
func closeReason(se *errors.Error) string {
	s := se.Reason
	if se.Message != "" {
		s += ": " + se.Message
	}
	if len(s) > 123 {
		n := 123
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}

// streamSet counts hijacked connections so that Stop can wait for them.
type streamSet struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed when n drops to 0 while closing
}

// add registers a connection; it reports false once the server is stopping.
func (s *streamSet) add() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.n++
	return true
}

func (s *streamSet) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if s.n == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

// wait refuses new connections and waits for the registered ones to end or
// ctx to be done.
func (s *streamSet) wait(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.n == 0 {
		s.mu.Unlock()
		return nil
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
