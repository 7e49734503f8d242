package http

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"reflect"
	"unicode/utf8"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/form"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/pathtpl"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Unary registers an RPC route, as generated code does: for each request a
// new In is filled from the query string, then the body (see Body), then
// the path variables (which win); the server chain for op wraps h with the
// *In as the request; the *Out (or its ResponseBody field) is written with
// status 200 by the route's ResponseEncoder. Path variables of basic types
// are set directly; others go through form.DecodeValues.
func Unary[In, Out any](r *Router, method, path, op string, h func(context.Context, *In) (*Out, error), opts ...RouteOption) {
	rt := r.newRoute(method, path, opts)
	if op != "" {
		rt.op = op
	}
	b := newBinder(rt, reflect.TypeFor[In](), reflect.TypeFor[Out]())
	rt.wire(bindFunc[In](b), func(c *reqCtx, ctx context.Context, req any) (any, error) {
		out, err := h(ctx, req.(*In))
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = new(Out)
		}
		return out, c.Result(nethttp.StatusOK, b.reply(out))
	}, true)
	r.register(rt)
}

// bindFunc returns the bind function of a route whose request is a new *In
// filled by b.
func bindFunc[In any](b *binder) func(*reqCtx) (any, error) {
	return func(c *reqCtx) (any, error) {
		in := new(In)
		return in, b.bind(c, in, reflect.ValueOf(in))
	}
}

// binder fills a request message, with everything that depends on the
// message type resolved at registration.
type binder struct {
	body      int // bodyNone, bodyWhole or bodyField
	bodyField fieldPath
	setters   []varSetter // per variable; a zero name means form decoding
	slow      bool        // some variable needs form decoding
	respField *fieldPath
}

const (
	bodyNone = iota
	bodyWhole
	bodyField
)

func newBinder(rt *route, in, out reflect.Type) *binder {
	b := &binder{}
	switch {
	case !rt.opts.bodySet:
		switch rt.method {
		case nethttp.MethodPost, nethttp.MethodPut, nethttp.MethodPatch, "":
			b.body = bodyWhole
		}
	case rt.opts.body == "*":
		b.body = bodyWhole
	case rt.opts.body != "":
		fp, ok := resolveField(in, rt.opts.body)
		if !ok {
			panic(fmt.Sprintf("transport/http: route %s: Body(%q): no such field in %v", describeRoute(rt.method, rt.pattern), rt.opts.body, in))
		}
		b.body, b.bodyField = bodyField, fp
	}
	b.setters = make([]varSetter, len(rt.tpl.Variables))
	for i, v := range rt.tpl.Variables {
		if vs, ok := newVarSetter(in, v.Name); ok && (!v.MultiSegment() || vs.kind == reflect.String) {
			b.setters[i] = vs
		} else {
			b.slow = true
		}
	}
	if rt.opts.responseBody != "" {
		fp, ok := resolveField(out, rt.opts.responseBody)
		if !ok {
			panic(fmt.Sprintf("transport/http: route %s: ResponseBody(%q): no such field in %v", describeRoute(rt.method, rt.pattern), rt.opts.responseBody, out))
		}
		b.respField = &fp
	}
	return b
}

// bind fills in (rv is reflect.ValueOf(in)) from the request.
func (b *binder) bind(c *reqCtx, in any, rv reflect.Value) error {
	if err := c.BindQuery(in); err != nil {
		return err
	}
	switch b.body {
	case bodyWhole:
		if err := c.Bind(in); err != nil {
			return err
		}
	case bodyField:
		f := b.bodyField.value(rv, true)
		var target any
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
			}
			target = f.Interface()
		} else {
			target = f.Addr().Interface()
		}
		if err := c.Bind(target); err != nil {
			return err
		}
	}
	if len(c.raw) == 0 {
		return nil
	}
	vars := c.rt.tpl.Variables
	var slow url.Values
	for i := range b.setters {
		vs := &b.setters[i]
		s, ok := pathtpl.Unescape(c.raw[i], vars[i].MultiSegment())
		if !ok {
			s = c.raw[i]
		}
		if vs.name == "" || vs.kind == reflect.String && !utf8.ValidString(s) {
			// Form decoding decides on invalid UTF-8 as it does for the
			// query: a proto string field refuses it with a 400, rather
			// than the reply failing to encode with a 500.
			if slow == nil {
				slow = make(url.Values, len(vars))
			}
			slow[vars[i].Name] = []string{s}
			continue
		}
		if err := vs.set(rv, s); err != nil {
			return err
		}
	}
	if slow != nil {
		if err := form.DecodeValues(in, slow); err != nil {
			return errors.BadRequest(ReasonInvalidPath, "invalid path variable: "+err.Error())
		}
	}
	return nil
}

// reply returns what to encode for the handler's reply.
func (b *binder) reply(out any) any {
	if b.respField == nil || out == nil {
		return out
	}
	f := b.respField.value(reflect.ValueOf(out), false)
	if !f.IsValid() {
		return nil
	}
	return f.Interface()
}

// ServerStream registers a server-streaming RPC route served as Server-Sent
// Events. The request is bound as for Unary; the server chain for op wraps
// the call of h (with the *In as the request) and so runs when the client
// connects. Each Send writes one event, `data: <json>`, flushed at once. An
// error returned before the first Send is an ordinary error reply; after
// it, it is sent as an event of type "error" whose data is the JSON error.
// The stream's context ends when the client goes away or the server stops.
func ServerStream[In, Out any](r *Router, method, path, op string, h func(*In, grpc.ServerStreamingServer[Out]) error, opts ...RouteOption) {
	rt := r.newRoute(method, path, opts)
	if op != "" {
		rt.op = op
	}
	b := newBinder(rt, reflect.TypeFor[In](), reflect.TypeFor[Out]())
	rt.wire(bindFunc[In](b), func(c *reqCtx, ctx context.Context, req any) (any, error) {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(rt.srv.streamCtx, cancel)
		defer stop()
		err := h(req.(*In), &sseStream[Out]{c: c, ctx: sctx, reqCtx: ctx})
		if stderrors.Is(err, io.EOF) {
			// A handler passing on the io.EOF of a finished receive, as
			// gRPC handlers do, ends the stream normally.
			err = nil
		}
		// The error event, if any, is sent once the chain returned, so
		// that it carries the chain's final error (a recovered panic).
		return nil, err
	}, true)
	r.register(rt)
}

func errorJSON(err error) []byte {
	data, mErr := encoding.GetCodec("json").Marshal(errors.FromError(err))
	if mErr != nil {
		return []byte(`{"code":500,"reason":"UNKNOWN","message":"internal server error"}`)
	}
	return data
}

// sseStream is the grpc.ServerStreamingServer the handlers of ServerStream
// routes send to.
type sseStream[Out any] struct {
	c      *reqCtx
	ctx    context.Context // the handler's, canceled when it returns
	reqCtx context.Context // the writer's: it outlives the handler for the error event
	w      *SSEWriter
}

var _ grpc.ServerStreamingServer[struct{}] = (*sseStream[struct{}])(nil)

func (s *sseStream[Out]) start() error {
	if s.w != nil {
		return nil
	}
	liftBodyDeadline(s.c.req) // the stream outlives the body's reading
	w, err := newSSEWriter(s.reqCtx, &s.c.sw, s.c.req, s.c.rt.srv.streamCtx, s.c.rt.opts.sse)
	if err != nil {
		return err
	}
	s.w = w
	s.c.sse = w // the route's end sends the error event and closes it
	s.c.done = true
	return nil
}

// Send writes m as one event with its JSON as the data.
func (s *sseStream[Out]) Send(m *Out) error { return s.SendMsg(m) }

// SendMsg writes m as one event with its JSON as the data.
func (s *sseStream[Out]) SendMsg(m any) error {
	data, err := encoding.GetCodec("json").Marshal(m)
	if err != nil {
		return fmt.Errorf("transport/http: SSE: encoding %T: %w", m, err)
	}
	if err := s.start(); err != nil {
		return err
	}
	return s.w.Send(Event{Data: data})
}

// RecvMsg returns io.EOF: a server stream receives nothing.
func (s *sseStream[Out]) RecvMsg(any) error { return io.EOF }

// SetHeader adds md to the reply header; it fails once the stream started.
func (s *sseStream[Out]) SetHeader(md metadata.MD) error {
	if s.w != nil {
		return fmt.Errorf("transport/http: SSE: SetHeader after the stream started")
	}
	h := s.c.sw.Header()
	for k, vs := range md {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return nil
}

// SendHeader adds md to the reply header and starts the stream.
func (s *sseStream[Out]) SendHeader(md metadata.MD) error {
	if err := s.SetHeader(md); err != nil {
		return err
	}
	return s.start()
}

// SetTrailer is ignored: SSE has no trailers.
func (s *sseStream[Out]) SetTrailer(metadata.MD) {}

// Context returns the stream's context.
func (s *sseStream[Out]) Context() context.Context { return s.ctx }
