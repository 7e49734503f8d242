package http

import (
	"context"
	stderrors "errors"
	"fmt"
	nethttp "net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultHeartbeat is the default interval of SSE heartbeats.
const DefaultHeartbeat = 15 * time.Second

// Event is one Server-Sent Event.
type Event struct {
	// ID sets the client's last event ID; it must not contain a line break.
	ID string
	// Event is the event type; "" is the default "message". It must not
	// contain a line break.
	Event string
	// Data is the payload; line breaks split it into several data lines,
	// which the client joins back with "\n".
	Data []byte
	// Retry, when positive, sets the client's reconnection delay.
	Retry time.Duration
}

// SSEOption configures an SSEWriter.
type SSEOption func(*sseOptions)

type sseOptions struct {
	heartbeat time.Duration
}

// Heartbeat sets the interval at which a comment line is sent while no
// event is, so that proxies keep the connection open and a vanished client
// is noticed. The default is DefaultHeartbeat; zero or less disables it.
func Heartbeat(d time.Duration) SSEOption { return func(o *sseOptions) { o.heartbeat = d } }

// SSEWriter writes a text/event-stream reply. Every event is flushed at
// once. It is safe for concurrent use.
type SSEWriter struct {
	w      nethttp.ResponseWriter
	rc     *nethttp.ResponseController
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool // unregisters the server-stop hook

	mu     sync.Mutex
	err    error // first write error, or errSSEClosed
	buf    []byte
	hbStop chan struct{}
	hbDone chan struct{}

	closeOnce sync.Once
}

var errSSEClosed = stderrors.New("transport/http: SSE stream closed")

// NewSSEWriter starts a text/event-stream reply on w: it sends the headers
// (Content-Type, Cache-Control: no-cache, X-Accel-Buffering: no) with status
// 200 and flushes them. The stream ends, and Done is closed, when the client
// goes away (r's context is done) or Close is called; Close must be called
// to stop the heartbeat. w must support flushing.
func NewSSEWriter(w nethttp.ResponseWriter, r *nethttp.Request, opts ...SSEOption) (*SSEWriter, error) {
	return newSSEWriter(r.Context(), w, r, nil, opts)
}

func newSSEWriter(ctx context.Context, w nethttp.ResponseWriter, r *nethttp.Request, stopCtx context.Context, opts []SSEOption) (*SSEWriter, error) {
	if !canFlush(w) {
		return nil, fmt.Errorf("transport/http: SSE for %s %s: the ResponseWriter (%T) cannot flush", r.Method, r.URL.Path, w)
	}
	o := sseOptions{heartbeat: DefaultHeartbeat}
	for _, opt := range opts {
		opt(&o)
	}
	s := &SSEWriter{w: w, rc: nethttp.NewResponseController(w)}
	s.ctx, s.cancel = context.WithCancel(ctx)
	if stopCtx != nil {
		s.stop = context.AfterFunc(stopCtx, s.cancel)
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeSSE)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(nethttp.StatusOK)
	if err := s.rc.Flush(); err != nil {
		s.cancel()
		return nil, fmt.Errorf("transport/http: SSE: flushing the headers: %w", err)
	}
	if o.heartbeat > 0 {
		s.hbStop, s.hbDone = make(chan struct{}), make(chan struct{})
		go s.heartbeat(o.heartbeat)
	}
	return s, nil
}

// canFlush reports whether w, or a writer it wraps, is a Flusher.
func canFlush(w nethttp.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case nethttp.Flusher:
			return true
		case interface{ Unwrap() nethttp.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

func (s *SSEWriter) heartbeat(d time.Duration) {
	defer close(s.hbDone)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.hbStop:
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
			if s.Comment("") != nil {
				return
			}
		}
	}
}

// Done is closed when the stream ends: the client went away, the server is
// stopping, or Close was called.
func (s *SSEWriter) Done() <-chan struct{} { return s.ctx.Done() }

// Send writes and flushes one event. It fails once the stream has ended.
func (s *SSEWriter) Send(e Event) error {
	if strings.ContainsAny(e.ID, "\r\n\x00") {
		return fmt.Errorf("transport/http: SSE event ID %q contains a line break or NUL", e.ID)
	}
	if strings.ContainsAny(e.Event, "\r\n") {
		return fmt.Errorf("transport/http: SSE event type %q contains a line break", e.Event)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf[:0]
	if e.ID != "" {
		b = append(append(append(b, "id: "...), e.ID...), '\n')
	}
	if e.Event != "" {
		b = append(append(append(b, "event: "...), e.Event...), '\n')
	}
	if e.Retry > 0 {
		b = append(strconv.AppendInt(append(b, "retry: "...), e.Retry.Milliseconds(), 10), '\n')
	}
	if e.Data != nil || len(b) == 0 {
		b = appendData(b, e.Data)
	}
	b = append(b, '\n')
	s.buf = b
	return s.writeLocked(b)
}

// appendData writes data as data lines, splitting it at CR, LF and CRLF.
func appendData(b, data []byte) []byte {
	for {
		i := 0
		for i < len(data) && data[i] != '\n' && data[i] != '\r' {
			i++
		}
		b = append(append(append(b, "data: "...), data[:i]...), '\n')
		if i == len(data) {
			return b
		}
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// Comment writes and flushes a comment line, which clients ignore. Line
// breaks in text are replaced by spaces.
func (s *SSEWriter) Comment(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append(s.buf[:0], ':')
	if text != "" {
		b = append(b, ' ')
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c == '\n' || c == '\r' {
				c = ' '
			}
			b = append(b, c)
		}
	}
	b = append(b, '\n', '\n')
	s.buf = b
	return s.writeLocked(b)
}

func (s *SSEWriter) writeLocked(b []byte) error {
	if s.err != nil {
		return s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = fmt.Errorf("transport/http: SSE stream ended: %w", err)
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = fmt.Errorf("transport/http: SSE write: %w", err)
		return s.err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = fmt.Errorf("transport/http: SSE flush: %w", err)
		return s.err
	}
	return nil
}

// Close ends the stream: later writes fail, Done is closed and the
// heartbeat stops. The reply ends when the handler returns. Close is
// idempotent.
func (s *SSEWriter) Close() error {
	s.mu.Lock()
	if s.err == nil {
		s.err = errSSEClosed
	}
	s.mu.Unlock()
	s.cancel()
	if s.stop != nil {
		s.stop()
	}
	if s.hbDone != nil {
		s.closeOnce.Do(func() { close(s.hbStop) })
		<-s.hbDone
	}
	return nil
}
