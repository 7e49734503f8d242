package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/deadline"
	"github.com/zelos-go/zelos/transport"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// call is one request through the gateway, from routing to reply.
type call struct {
	w    *respWriter
	r    *http.Request
	ep   *endpoint
	body []byte   // the request body, kept when the request may be retried
	cur  *attempt // the attempt being sent
}

// serve routes a request and runs its endpoint.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	t := g.cur.Load()
	t.inflight.Add(1)
	defer t.inflight.Add(-1)
	method := r.Method
	ep, allowed := t.match(r, method)
	if ep == nil && isPreflight(r) {
		// A preflight asks for the method it will send; route it there, so
		// that the endpoint's CORS policy answers.
		ep, _ = t.match(r, r.Header.Get("Access-Control-Request-Method"))
	}
	if ep == nil {
		zhttp.DefaultErrorEncoder(w, r, routeError(r, allowed))
		return
	}
	rw := &respWriter{ResponseWriter: w}
	c := &call{w: rw, ep: ep}
	// One request copy carries the server Transporter (and through it the
	// call) to the middleware and to the proxy's callbacks. The endpoint's
	// timeout is its transport's wait for the reply head, so streams that
	// have started run until they end, at no per-request cost.
	ctx := transport.NewServerContext(r.Context(), &serverTransport{c: c})
	r = r.WithContext(ctx)
	c.r = r
	if err := g.limitBody(c); err != nil {
		zhttp.DefaultErrorEncoder(rw, r, err)
		return
	}
	h := ep.unsafe
	if ep.safe != nil && retrySafe(r) {
		h = ep.safe
		if err := c.keepBody(); err != nil {
			zhttp.DefaultErrorEncoder(rw, r, err)
			return
		}
	}
	var err error
	if ep.tc != nil {
		err = g.transcode(ctx, c, h)
	} else {
		_, err = h(ctx, c)
	}
	if err != nil && !rw.started.Load() {
		zhttp.DefaultErrorEncoder(rw, r, err)
	}
}

// limitBody caps the request body at the endpoint's limit.
func (g *Gateway) limitBody(c *call) error {
	if c.ep.maxBody <= 0 || c.r.Body == nil || c.r.Body == http.NoBody {
		return nil
	}
	if c.r.ContentLength > c.ep.maxBody {
		return bodyTooLarge(c.ep.maxBody)
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, c.ep.maxBody)
	return nil
}

func bodyTooLarge(limit int64) error {
	return errors.Newf(http.StatusRequestEntityTooLarge, zhttp.ReasonBodyTooLarge, "gateway: the request body is over %d bytes", limit)
}

// keepBody reads the body into memory so that a retry can send it again.
func (c *call) keepBody() error {
	if c.r.Body == nil || c.r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(c.r.Body)
	_ = c.r.Body.Close()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bodyTooLarge(mbe.Limit)
		}
		return errors.Newf(http.StatusBadRequest, zhttp.ReasonBadRequestBody, "gateway: reading the request body: %v", err)
	}
	c.body = b
	return nil
}

// attemptRequest is the request one attempt sends: the call's own, with a
// copy only when the chain bounded the attempt with a deadline (a per-try
// timeout) that the backend call must honour.
func (c *call) attemptRequest(ctx context.Context) *http.Request {
	r := c.r
	if _, ok := ctx.Deadline(); ok {
		r = c.r.WithContext(ctx)
	}
	if c.body != nil {
		r.Body = io.NopCloser(bytes.NewReader(c.body))
		r.ContentLength = int64(len(c.body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(c.body)), nil }
	}
	return r
}

// retrySafe reports whether a request may be sent twice: an idempotent
// method, or one carrying an idempotency key.
func retrySafe(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return !isUpgrade(r)
	}
	return r.Header.Get("Idempotency-Key") != ""
}

func isUpgrade(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// respWriter records whether and how the reply started. It unwraps, so
// http.ResponseController reaches Flush and Hijack (WebSocket upgrades).
type respWriter struct {
	http.ResponseWriter
	status  int
	started atomic.Bool
}

func (w *respWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		if !w.started.Load() {
			w.status = code
			w.started.Store(true)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if !w.started.Load() {
		w.status = http.StatusOK
		w.started.Store(true)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets httputil.ReverseProxy flush streams through the wrapper.
func (w *respWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serverTransport is the server Transporter middleware sees for a
// request through the gateway: the endpoint is the operation and its route
// the path template, so logs, metrics and traces are per route.
type serverTransport struct {
	c  *call
	op string // set for transcoded calls: the gRPC method
}

func (t *serverTransport) Kind() transport.Kind { return transport.KindHTTP }
func (t *serverTransport) Endpoint() string     { return "" }
func (t *serverTransport) Operation() string {
	if t.op != "" {
		return t.op
	}
	return t.c.ep.name
}
func (t *serverTransport) RequestHeader() transport.Header { return zhttp.HeaderCarrier(t.c.r.Header) }
func (t *serverTransport) ReplyHeader() transport.Header {
	return zhttp.HeaderCarrier(t.c.w.Header())
}

// Request is the incoming request.
func (t *serverTransport) Request() *http.Request { return t.c.r }

// PathTemplate is the endpoint's route.
func (t *serverTransport) PathTemplate() string { return t.c.ep.route }

// StatusCode is the status the reply started with, or 0.
func (t *serverTransport) StatusCode() int { return t.c.w.status }

// Response is the reply's writer.
func (t *serverTransport) Response() http.ResponseWriter { return t.c.w }

// clientTransport is the client Transporter of the call to a backend:
// client middleware (retry, tracing) set the outgoing header through it.
type clientTransport struct {
	ep     *endpoint
	header http.Header
	reply  http.Header
}

func (t *clientTransport) Kind() transport.Kind            { return transport.KindHTTP }
func (t *clientTransport) Endpoint() string                { return "discovery:///" + t.ep.service }
func (t *clientTransport) Operation() string               { return t.ep.name }
func (t *clientTransport) RequestHeader() transport.Header { return zhttp.HeaderCarrier(t.header) }
func (t *clientTransport) ReplyHeader() transport.Header {
	if t.reply == nil {
		t.reply = http.Header{}
	}
	return zhttp.HeaderCarrier(t.reply)
}

// timeoutHeader is the X-Zelos-Timeout value Zelos servers read: the time
// left before ctx's deadline, or, without one, the endpoint's timeout,
// formatted once at start-up. It is "" when no time is left.
func (ep *endpoint) timeoutHeader(ctx context.Context) string {
	dl, ok := ctx.Deadline()
	if !ok {
		return ep.timeoutValue
	}
	if d := time.Until(dl); d > 0 {
		return deadline.Format(d)
	}
	return ""
}
