package http

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"reflect"

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
	call := func(ctx context.Context, req any) (any, error) {
		out, err := h(ctx, req.(*In))
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = new(Out)
		}
		return out, nil
	}
	next := call
	if rt.mw != nil {
		next = rt.mw(call)
	}
	rt.chained = true
	rt.handle = func(c *reqCtx) error {
		in := new(In)
		if err := b.bind(c, in, reflect.ValueOf(in)); err != nil {
			return err
		}
		out, err := next(c.cur, in)
		if err != nil {
			return err
		}
		return c.Result(nethttp.StatusOK, b.reply(out))
	}
	r.register(rt)
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
			panic(fmt.Sprintf("http: route %s: Body(%q): no such field in %v", describeRoute(rt.method, rt.pattern), rt.opts.body, in))
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
			panic(fmt.Sprintf("http: route %s: ResponseBody(%q): no such field in %v", describeRoute(rt.method, rt.pattern), rt.opts.responseBody, out))
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
		if vs.name == "" {
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
	call := func(ctx context.Context, req any) (any, error) {
		c, err := reqCtxFrom(ctx)
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(rt.srv.streamCtx, cancel)
		defer stop()
		st := &sseStream[Out]{c: c, ctx: sctx}
		err = h(req.(*In), st)
		if st.w == nil {
			return nil, err
		}
		if err != nil {
			_ = st.w.Send(Event{Event: "error", Data: errorJSON(err)})
		}
		_ = st.w.Close()
		return nil, err
	}
	next := call
	if rt.mw != nil {
		next = rt.mw(call)
	}
	rt.chained = true
	rt.handle = func(c *reqCtx) error {
		in := new(In)
		if err := b.bind(c, in, reflect.ValueOf(in)); err != nil {
			return err
		}
		_, err := next(c.cur, in)
		return err
	}
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
	c   *reqCtx
	ctx context.Context
	w   *SSEWriter
}

var _ grpc.ServerStreamingServer[struct{}] = (*sseStream[struct{}])(nil)

func (s *sseStream[Out]) start() error {
	if s.w != nil {
		return nil
	}
	w, err := newSSEWriter(s.ctx, &s.c.sw, s.c.req, nil, s.c.rt.opts.sse)
	if err != nil {
		return err
	}
	s.w = w
	s.c.done = true
	return nil
}

// Send writes m as one event with its JSON as the data.
func (s *sseStream[Out]) Send(m *Out) error { return s.SendMsg(m) }

// SendMsg writes m as one event with its JSON as the data.
func (s *sseStream[Out]) SendMsg(m any) error {
	data, err := encoding.GetCodec("json").Marshal(m)
	if err != nil {
		return fmt.Errorf("http: SSE: encoding %T: %w", m, err)
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
		return fmt.Errorf("http: SSE: SetHeader after the stream started")
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
