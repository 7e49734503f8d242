package http

import (
	"context"
	"mime/multipart"
	nethttp "net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/form"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/pathtpl"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// Context is the per-request context given to route handlers. It is a
// context.Context (the request's, carrying the server Transporter and the
// values middleware added) plus request and response helpers.
//
// A Context is valid until its handler returns; a goroutine that outlives
// the handler must not use it.
type Context interface {
	context.Context
	// Request returns the request. Its own Context does not carry what the
	// middleware added: pass the Context itself on instead.
	Request() *nethttp.Request
	// Response returns the response writer.
	Response() nethttp.ResponseWriter
	// Vars returns the path variables, percent-decoded.
	Vars() url.Values
	// PathValue returns the percent-decoded value of the path variable
	// name, or "". Unlike Vars it does not allocate for values without
	// escapes.
	PathValue(name string) string
	// Query returns the parsed query string.
	Query() url.Values
	// Header returns the request header.
	Header() nethttp.Header
	// Bind decodes the body by its Content-Type (json, proto, form, xml,
	// multipart, and yaml if RequestCodecs allows it) into v with the
	// server's RequestDecoder.
	Bind(v any) error
	// BindVars decodes the path variables into v with form.DecodeValues.
	BindVars(v any) error
	// BindQuery decodes the query string into v with form.DecodeValues.
	BindQuery(v any) error
	// BindForm decodes the query string and a URL-encoded or multipart body
	// into v, uploaded files included (see DefaultRequestDecoder).
	BindForm(v any) error
	// Result writes v with the route's (or server's) ResponseEncoder, by
	// default encoded as the Accept header asks, and status code.
	Result(code int, v any) error
	// JSON writes v as JSON with status code.
	JSON(code int, v any) error
	// String writes s as text/plain with status code.
	String(code int, s string) error
	// Blob writes data with the given Content-Type and status code.
	Blob(code int, contentType string, data []byte) error
	// FormFile returns the first file uploaded under name in a multipart
	// form; a missing file is a 400 MISSING_FILE error.
	FormFile(name string) (*multipart.FileHeader, error)
	// SSE starts a text/event-stream reply. The writer is closed when the
	// route is done; an error the handler returns (or the chain, such as a
	// recovered panic) once the stream started is sent as an event of type
	// "error" whose data is the JSON error.
	SSE(opts ...SSEOption) (*SSEWriter, error)
	// Middleware returns h wrapped in the server chain for the route's
	// operation. Routes run their handler inside that chain already unless
	// registered with SkipMiddleware, so there it returns h as is: a
	// middleware never runs twice.
	Middleware(h middleware.Handler) middleware.Handler
}

// HandlerFunc handles a route. A returned error is written with the
// route's (or server's) ErrorEncoder, unless a reply was already written.
type HandlerFunc func(Context) error

// reqCtx is the per-request state. It implements Context and Transporter;
// its other view, *serverCtx, is the context.Context at the root of the
// request's middleware contexts.
type reqCtx struct {
	rt     *route
	req    *nethttp.Request
	parent context.Context // the request's context
	cur    context.Context // the context the handler sees
	op     string

	raw    []string // raw path variable values
	rawBuf [4]string
	vars   url.Values
	query  url.Values

	sw      statusWriter // sw.ResponseWriter is the writer as given to the route
	sse     *SSEWriter   // the route's event stream, if it started one
	bindErr error        // why the request did not bind; the handler returns it
	limited bool         // the body is bounded by MaxBodySize
	done    bool         // the reply is on its way (SSE, WebSocket)
	handled bool         // the route's handler ran (a middleware may answer instead)
}

// base returns the context.Context view of c.
func (c *reqCtx) base() context.Context { return (*serverCtx)(c) }

// committed reports whether a reply has been started, so an error can no
// longer be written.
func (c *reqCtx) committed() bool { return c.sw.wrote || c.done }

// serverCtx is the root context of a request: the request's context plus
// the Transporter, without a context.WithValue allocation.
type serverCtx reqCtx

// Deadline implements context.Context.
func (c *serverCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done implements context.Context.
func (c *serverCtx) Done() <-chan struct{} { return c.parent.Done() }

// Err implements context.Context.
func (c *serverCtx) Err() error { return c.parent.Err() }

// Value implements context.Context: it answers the Transporter and the
// request state, and defers to the request's context for other keys.
func (c *serverCtx) Value(key any) any {
	if key == serverTransportKey {
		return (*reqCtx)(c)
	}
	if _, ok := key.(ctxKey); ok {
		return (*reqCtx)(c)
	}
	return c.parent.Value(key)
}

// String describes the context.
func (c *serverCtx) String() string {
	return "http.ServerContext(" + c.req.Method + " " + c.rt.pattern + ")"
}

// Deadline implements context.Context.
func (c *reqCtx) Deadline() (time.Time, bool) { return c.cur.Deadline() }

// Done implements context.Context.
func (c *reqCtx) Done() <-chan struct{} { return c.cur.Done() }

// Err implements context.Context.
func (c *reqCtx) Err() error { return c.cur.Err() }

// Value implements context.Context.
func (c *reqCtx) Value(key any) any { return c.cur.Value(key) }

// Kind implements transport.Transporter.
func (c *reqCtx) Kind() transport.Kind { return transport.KindHTTP }

// Endpoint implements transport.Transporter.
func (c *reqCtx) Endpoint() string { return c.rt.srv.endpointString() }

// Operation implements transport.Transporter.
func (c *reqCtx) Operation() string { return c.op }

// RequestHeader implements transport.Transporter.
func (c *reqCtx) RequestHeader() transport.Header { return HeaderCarrier(c.req.Header) }

// ReplyHeader implements transport.Transporter.
func (c *reqCtx) ReplyHeader() transport.Header { return HeaderCarrier(c.sw.Header()) }

// PathTemplate implements Transporter.
func (c *reqCtx) PathTemplate() string { return c.rt.pattern }

// StatusCode returns the HTTP status written so far, or 0 if none: a
// middleware reads it after the handler returns to learn a success status
// the handler chose itself (201, 204), which no error carries. The metrics
// and tracing middleware look for this method.
func (c *reqCtx) StatusCode() int { return int(c.sw.status) }

// Request implements Context and Transporter.
func (c *reqCtx) Request() *nethttp.Request { return c.req }

// Response implements Context.
func (c *reqCtx) Response() nethttp.ResponseWriter { return &c.sw }

// Header implements Context.
func (c *reqCtx) Header() nethttp.Header { return c.req.Header }

// Vars implements Context.
func (c *reqCtx) Vars() url.Values {
	if c.vars == nil {
		vs := c.rt.tpl.Variables
		c.vars = make(url.Values, len(vs))
		vals := make([]string, len(vs))
		for i, v := range vs {
			s, ok := pathtpl.Unescape(c.raw[i], v.MultiSegment())
			if !ok {
				s = c.raw[i]
			}
			vals[i] = s
			c.vars[v.Name] = vals[i : i+1 : i+1]
		}
	}
	return c.vars
}

// PathValue implements Context.
func (c *reqCtx) PathValue(name string) string {
	for i, v := range c.rt.tpl.Variables {
		if v.Name == name && i < len(c.raw) {
			s, ok := pathtpl.Unescape(c.raw[i], v.MultiSegment())
			if !ok {
				return c.raw[i]
			}
			return s
		}
	}
	return ""
}

// Query implements Context.
func (c *reqCtx) Query() url.Values {
	if c.query == nil {
		c.query, _ = url.ParseQuery(c.req.URL.RawQuery)
	}
	return c.query
}

// Bind implements Context.
func (c *reqCtx) Bind(v any) error {
	r := c.req
	if r.Body == nil || r.Body == nethttp.NoBody {
		return nil
	}
	if ct := firstValue(r.Header["Content-Type"]); !c.rt.srv.acceptsBody(ct) {
		return unacceptedBody(ct)
	}
	if err := c.limitBody(); err != nil {
		return err
	}
	err := c.rt.srv.decoder(r, v)
	if err == nil {
		return nil
	}
	return bodyError(err, "invalid request body: ")
}

// limitBody bounds the body by the server's MaxBodySize, once.
func (c *reqCtx) limitBody() error {
	if c.limited {
		return nil
	}
	c.limited = true
	max := c.rt.srv.maxBody
	if max <= 0 {
		return nil
	}
	if c.req.ContentLength > max {
		return tooLarge(max)
	}
	c.req.Body = nethttp.MaxBytesReader(c.sw.ResponseWriter, c.req.Body, max)
	return nil
}

// BindVars implements Context.
func (c *reqCtx) BindVars(v any) error {
	if len(c.raw) == 0 {
		return nil
	}
	if err := form.DecodeValues(v, c.Vars()); err != nil {
		return errors.BadRequest(ReasonInvalidPath, "invalid path variable: "+err.Error())
	}
	return nil
}

// BindQuery implements Context.
func (c *reqCtx) BindQuery(v any) error {
	if c.req.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(c.req.URL.RawQuery)
	if err != nil {
		return errors.BadRequest(ReasonInvalidQuery, "invalid query string: "+err.Error())
	}
	c.query = q
	if err := form.DecodeValues(v, q); err != nil {
		return errors.BadRequest(ReasonInvalidQuery, "invalid query: "+err.Error())
	}
	return nil
}

// BindForm implements Context.
func (c *reqCtx) BindForm(v any) error {
	if err := c.limitBody(); err != nil {
		return err
	}
	r := c.req
	if codecName(mediaType(r.Header.Get("Content-Type"))) == "multipart" {
		if err := parseMultipart(r); err != nil {
			return err
		}
		if err := form.DecodeValues(v, r.Form); err != nil {
			return errors.BadRequest(ReasonBadRequestBody, "invalid form: "+err.Error())
		}
		return bindFiles(v, r.MultipartForm.File)
	}
	if err := r.ParseForm(); err != nil {
		return bodyError(err, "invalid form: ")
	}
	if err := form.DecodeValues(v, r.Form); err != nil {
		return errors.BadRequest(ReasonBadRequestBody, "invalid form: "+err.Error())
	}
	return nil
}

// FormFile implements Context.
func (c *reqCtx) FormFile(name string) (*multipart.FileHeader, error) {
	if err := c.limitBody(); err != nil {
		return nil, err
	}
	if err := parseMultipart(c.req); err != nil {
		return nil, err
	}
	if fhs := c.req.MultipartForm.File[name]; len(fhs) > 0 {
		return fhs[0], nil
	}
	return nil, errors.BadRequest(ReasonMissingFile, "no file "+strconv.Quote(name)+" in the multipart form").
		WithMetadata(map[string]string{"field": name})
}

// Result implements Context.
func (c *reqCtx) Result(code int, v any) error {
	if !c.sw.wrote {
		c.sw.code = int16(code)
	}
	return c.rt.encoder(&c.sw, c.req, v)
}

// JSON implements Context.
func (c *reqCtx) JSON(code int, v any) error {
	data, err := encoding.GetCodec("json").Marshal(v)
	if err != nil {
		return errors.InternalServer(ReasonEncodeReply, "the reply cannot be encoded as JSON").WithCause(err)
	}
	return c.Blob(code, contentTypeJSON, data)
}

// String implements Context.
func (c *reqCtx) String(code int, s string) error {
	c.sw.Header().Set("Content-Type", contentTypeText)
	c.sw.WriteHeader(code)
	_, err := c.sw.WriteString(s)
	return err
}

// Blob implements Context.
func (c *reqCtx) Blob(code int, contentType string, data []byte) error {
	c.sw.Header().Set("Content-Type", contentType)
	c.sw.WriteHeader(code)
	_, err := c.sw.Write(data)
	return err
}

// SSE implements Context.
func (c *reqCtx) SSE(opts ...SSEOption) (*SSEWriter, error) {
	if c.sse != nil {
		return c.sse, nil
	}
	liftBodyDeadline(c.req) // the stream outlives the body's reading
	w, err := newSSEWriter(c, &c.sw, c.req, c.rt.srv.streamCtx, opts)
	if err != nil {
		return nil, err
	}
	c.sse = w
	c.done = true
	return w, nil
}

// Middleware implements Context.
func (c *reqCtx) Middleware(h middleware.Handler) middleware.Handler {
	if c.rt.chained || c.rt.mw == nil {
		return h
	}
	return c.rt.mw(h)
}

// statusWriter is the ResponseWriter handlers get: it records whether the
// reply has started and applies the status given to Context.Result.
//
// Statuses are int16 so that the writer, inside every reqCtx, stays in
// 24 bytes: reqCtx then fits the 224-byte allocation class (BenchmarkHTTP:
// 1296 B/op for router/recovery-metadata, against 1328 with ints).
type statusWriter struct {
	nethttp.ResponseWriter
	code   int16 // replaces a 200 written by an encoder, when set
	status int16 // the status written
	wrote  bool
}

// WriteHeader implements nethttp.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	if code >= 100 && code < 200 && code != nethttp.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational
		return
	}
	w.wrote = true
	if code == nethttp.StatusOK && w.code != 0 {
		code = int(w.code)
	}
	w.status = int16(code)
	w.ResponseWriter.WriteHeader(code)
}

// Write implements nethttp.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(nethttp.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// WriteString writes s without copying it when the writer allows.
func (w *statusWriter) WriteString(s string) (int, error) {
	if !w.wrote {
		w.WriteHeader(nethttp.StatusOK)
	}
	if sw, ok := w.ResponseWriter.(interface{ WriteString(string) (int, error) }); ok {
		return sw.WriteString(s)
	}
	return w.ResponseWriter.Write([]byte(s))
}

// Flush implements nethttp.Flusher.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// FlushError flushes the reply, reporting failures; ResponseController
// prefers it to Flush.
func (w *statusWriter) FlushError() error {
	if !w.wrote {
		w.WriteHeader(nethttp.StatusOK)
	}
	switch f := w.ResponseWriter.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case nethttp.Flusher:
		f.Flush()
		return nil
	}
	return nethttp.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer, for nethttp.ResponseController.
func (w *statusWriter) Unwrap() nethttp.ResponseWriter { return w.ResponseWriter }
