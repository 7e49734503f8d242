// Package logging logs every request a server handles (Server) or a client
// makes (Client), as one record:
//
//	kind=server component=grpc operation=/user.v1.User/Get code=200 reason= latency=0.000412
//
// with, on failure, the error, at error level (info otherwise). kind is
// "server" or "client", component the transport kind ("grpc", "http"),
// code and reason those of the error (see the errors package; 200 and ""
// on success) and latency the handler's duration in seconds. The request
// itself is logged under "args" only if WithArgs is given.
//
// Both call forms work, since every log.Logger is an Option:
//
//	logging.Server(logger)
//	logging.Server(logging.WithLogger(logger), logging.WithMessageKey("msg"))
//
// The middleware is cheap: apart from the logger's own work, a record costs
// two small allocations (the key-value slice and the latency).
package logging

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// Option configures Server and Client. It is either a value returned by one
// of the With functions, or a log.Logger, which is short for
// WithLogger(logger). (The With values satisfy log.Logger only so that both
// kinds share one type; logging to them does nothing.)
type Option interface {
	log.Logger
}

// option is an Option made by a With function.
type option func(*options)

// Log does nothing: options are not loggers.
func (option) Log(log.Level, ...any) error { return nil }

type options struct {
	logger       log.Logger
	args         bool
	messageKey   string
	levelKey     string
	timestampKey string
	callerKey    string
}

// WithLogger sets the logger records are written to. The default is
// log.DefaultLogger.
func WithLogger(l log.Logger) Option {
	return option(func(o *options) { o.logger = l })
}

// WithArgs logs the request under "args". A request with a
// Redact() string method is logged as what it returns, so that secrets
// can be left out; a fmt.Stringer as its String(); anything else as is.
func WithArgs() Option {
	return option(func(o *options) { o.args = true })
}

// WithMessageKey writes a message ("server request" or "client request")
// under key. By default no message is written.
func WithMessageKey(key string) Option {
	return option(func(o *options) { o.messageKey = key })
}

// WithLevelKey writes the record's level ("INFO", "ERROR") under key, for
// loggers that do not write it themselves. By default it is not written.
func WithLevelKey(key string) Option {
	return option(func(o *options) { o.levelKey = key })
}

// WithTimestampKey writes the time the request ended (a time.Time) under
// key, for loggers that do not add one. By default it is not written.
func WithTimestampKey(key string) Option {
	return option(func(o *options) { o.timestampKey = key })
}

// WithCallerKey writes, under key, the source location (dir/file.go:line)
// of the Server or Client call that built the middleware, which tells
// apart the records of several configured loggers. By default it is not
// written.
func WithCallerKey(key string) Option {
	return option(func(o *options) { o.callerKey = key })
}

// Server returns middleware logging the requests a server handles, as
// found by transport.FromServerContext.
func Server(opts ...Option) middleware.Middleware {
	return newLogger("server", transport.FromServerContext, opts).middleware
}

// Client returns middleware logging the calls a client makes, as found by
// transport.FromClientContext.
func Client(opts ...Option) middleware.Middleware {
	return newLogger("client", transport.FromClientContext, opts).middleware
}

// logger is the state of one configured middleware, computed once. Keys
// and constant values are kept as interface values so that putting them in
// a record does not allocate.
type logger struct {
	logger log.Logger
	args   bool
	from   func(context.Context) (transport.Transporter, bool)
	size   int // the capacity of a record's key-value slice

	kind, message, caller                         any
	messageKey, levelKey, timestampKey, callerKey any // nil when not written

	ops  sync.Map // operation name -> the same as an interface value
	nops atomic.Int64
}

// maxOps bounds the operations whose interface values are cached.
// Operations are method names or route templates, so it is rarely reached.
const maxOps = 4096

// operation returns op as an interface value, allocating only the first
// time op is seen.
func (l *logger) operation(op string) any {
	if v, ok := l.ops.Load(op); ok {
		return v
	}
	v := any(op)
	if l.nops.Load() < maxOps {
		if _, loaded := l.ops.LoadOrStore(op, v); !loaded {
			l.nops.Add(1)
		}
	}
	return v
}

func newLogger(kind string, from func(context.Context) (transport.Transporter, bool), opts []Option) *logger {
	var o options
	for _, opt := range opts {
		switch opt := opt.(type) {
		case nil:
		case option:
			opt(&o)
		default:
			o.logger = opt
		}
	}
	l := &logger{logger: o.logger, args: o.args, from: from, kind: kind, message: kind + " request"}
	if l.logger == nil {
		l.logger = log.DefaultLogger
	}
	l.size = 14 // kind, component, operation, code, reason, latency, error
	if l.args {
		l.size += 2
	}
	key := func(k string) any {
		if k == "" {
			return nil
		}
		l.size += 2
		return k
	}
	l.messageKey, l.levelKey, l.timestampKey, l.callerKey = key(o.messageKey), key(o.levelKey), key(o.timestampKey), key(o.callerKey)
	if l.callerKey != nil {
		l.caller = "unknown"
		// Skip newLogger and Server or Client.
		if _, file, line, ok := runtime.Caller(2); ok {
			l.caller = fmt.Sprintf("%s/%s:%d", filepath.Base(filepath.Dir(file)), filepath.Base(file), line)
		}
	}
	return l
}

func (l *logger) middleware(next middleware.Handler) middleware.Handler {
	return func(ctx context.Context, req any) (any, error) {
		start := time.Now()
		reply, err := next(ctx, req)
		l.log(ctx, req, err, time.Since(start))
		return reply, err
	}
}

func (l *logger) log(ctx context.Context, req any, err error, latency time.Duration) {
	level := log.LevelInfo
	code, reason := 200, ""
	if err != nil {
		level = log.LevelError
		e := errors.FromError(err)
		code, reason = e.Code, e.Reason
	}
	kv := make([]any, 0, l.size)
	if l.messageKey != nil {
		kv = append(kv, l.messageKey, l.message)
	}
	if l.levelKey != nil {
		kv = append(kv, l.levelKey, levelName(level))
	}
	if l.timestampKey != nil {
		kv = append(kv, l.timestampKey, time.Now())
	}
	if l.callerKey != nil {
		kv = append(kv, l.callerKey, l.caller)
	}
	kv = append(kv, "kind", l.kind)
	if tr, ok := l.from(ctx); ok {
		kv = append(kv, "component", kindName(tr.Kind()), "operation", l.operation(tr.Operation()))
	}
	if l.args {
		kv = append(kv, "args", args(req))
	}
	kv = append(kv, "code", boxCode(code), "reason", reason, "latency", latency.Seconds())
	if err != nil {
		kv = append(kv, "error", err)
	}
	// With the request context, so that context Valuers (trace and span
	// IDs) see the request.
	_ = log.LogContext(ctx, l.logger, level, kv...)
}

// args returns what WithArgs logs for req.
func args(req any) any {
	switch r := req.(type) {
	case interface{ Redact() string }:
		return r.Redact()
	case fmt.Stringer:
		return r.String()
	}
	return req
}

// levelName returns level's name as an interface value without allocating.
func levelName(l log.Level) any {
	if l == log.LevelError {
		return "ERROR"
	}
	return "INFO"
}

// kindName returns k as an interface value, without allocating for the
// known kinds.
func kindName(k transport.Kind) any {
	switch k {
	case transport.KindGRPC:
		return "grpc"
	case transport.KindHTTP:
		return "http"
	}
	return string(k)
}

// codes holds the codes below 600 as interface values, so that logging one
// does not allocate.
var codes = func() (t [600]any) {
	for i := range t {
		t[i] = i
	}
	return t
}()

func boxCode(c int) any {
	if c >= 0 && c < len(codes) {
		return codes[c]
	}
	return c
}
