package http

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zelos-go/zelos/middleware/recovery"
)

// TestWebSocketPanicClosesConnection checks that a WebSocket handler that
// panics after the upgrade closes the connection with StatusInternalError
// and the PANIC reason, so the client is not left waiting, and that the
// server goes on serving.
func TestWebSocketPanicClosesConnection(t *testing.T) {
	for _, withRecovery := range []bool{true, false} {
		name := "transport's own recovery"
		var opts []ServerOption
		if withRecovery {
			name = "recovery middleware"
			opts = append(opts, Middleware(recovery.Recovery(recovery.WithLogger(discard))))
		}
		t.Run(name, func(t *testing.T) {
			srv, base := startServer(t, opts...)
			srv.Route("/").WebSocket("/ws", func(ctx context.Context, conn *websocket.Conn) error {
				_, _, _ = conn.Read(ctx)
				panic("ws boom")
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
			conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: testClient(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if err := conn.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, _, err = conn.Read(ctx)
			if websocket.CloseStatus(err) != websocket.StatusInternalError {
				t.Fatalf("read after the panic: %v (after %v), want a close with StatusInternalError", err, time.Since(start))
			}
			var ce websocket.CloseError
			if !asCloseError(err, &ce) || !strings.HasPrefix(ce.Reason, "PANIC") {
				t.Fatalf("close reason = %q, want PANIC...", ce.Reason)
			}
			// The server lives.
			if got := do(t, testClient(t), "GET", base+"/nothing", "", ""); got.status != 404 {
				t.Fatalf("after the panic: %d", got.status)
			}
		})
	}
}

func asCloseError(err error, ce *websocket.CloseError) bool {
	for err != nil {
		if e, ok := err.(websocket.CloseError); ok {
			*ce = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
