package log

import (
	"context"
	"runtime"
	"slices"
)

// chainLogger is implemented by every Logger of this package. Records travel
// down a chain of them (Helper -> Filter -> With -> sink) through
// logContext, which carries two things the Logger interface cannot:
//
//   - ctx, the record's context, so that Valuers (trace IDs and the like)
//     and slog handlers at any depth see it without a context-bound copy of
//     every wrapper. A nil ctx means "none given": a context bound further
//     down (by WithContext) then applies, and Valuers get
//     context.Background().
//   - pc, the program counter of the user's call (as runtime.Callers
//     reports it), or 0 if unknown. The entry point of a chain (a Helper
//     method, a Log method, a slog record) computes it cheaply when some
//     Logger below wants it (wantsPC): DefaultCaller then needs no stack
//     walk, and NewSlogLogger uses it for slog.Record.PC.
type chainLogger interface {
	Logger
	logContext(ctx context.Context, pc uintptr, level Level, keyvals []any) error
	// enabled reports whether a record at level may be logged.
	enabled(ctx context.Context, level Level) bool
	// wantsPC reports whether the chain uses the pc of logContext. It is
	// fixed when the Logger is made.
	wantsPC() bool
}

// logTo passes one record to l, with ctx and pc if l can use them.
//
// keyvals is often a pooled slice, reused once logTo returns. The Loggers of
// this package never retain it; a Logger of another package gets a copy, so
// that it may keep the slice (a test recorder, an asynchronous writer).
func logTo(ctx context.Context, pc uintptr, l Logger, level Level, keyvals []any) error {
	if c, ok := l.(chainLogger); ok {
		return c.logContext(ctx, pc, level, keyvals)
	}
	return l.Log(level, slices.Clone(keyvals)...)
}

// enabledFor reports whether l may log at level. Loggers that cannot tell
// are assumed to be enabled.
func enabledFor(ctx context.Context, l Logger, level Level) bool {
	if c, ok := l.(chainLogger); ok {
		return c.enabled(ctx, level)
	}
	return true
}

// wantsPC reports whether l uses the pc of the user's call.
func wantsPC(l Logger) bool {
	c, ok := l.(chainLogger)
	return ok && c.wantsPC()
}

// entryPC returns the pc of the user's call, for an entry point of a chain.
// depth is the number of logical frames of this package from entryPC's
// caller up to and including the method the user called: 1 if entryPC is
// called by that method itself. Inlining does not change the count
// (runtime.Callers reports inlined frames too).
func entryPC(depth int) uintptr {
	var pcs [1]uintptr
	if runtime.Callers(2+depth, pcs[:]) < 1 { // 2: runtime.Callers and entryPC
		return 0
	}
	return pcs[0]
}

// WithContext returns a Logger that logs to l with ctx: every Valuer bound
// with With below it is called with ctx, and a Logger made by NewSlogLogger
// hands ctx to its slog.Handler. This is how request-scoped values such as
// trace and span IDs reach the log. WithContext is cheap (one small
// allocation) and is meant to be called once per request; the result is safe
// for concurrent use if l is.
//
// If contexts are bound at several places along a chain (WithContext,
// Helper.WithContext), the outermost one is used.
func WithContext(ctx context.Context, l Logger) Logger {
	if ctx == nil {
		ctx = context.Background()
	}
	if c, ok := l.(*ctxLogger); ok {
		l = c.next
	}
	return &ctxLogger{next: l, ctx: ctx, wantPC: wantsPC(l)}
}

// ctxLogger binds a context to a Logger.
type ctxLogger struct {
	next   Logger
	ctx    context.Context
	wantPC bool
}

// Log implements Logger.
//
//go:noinline
func (c *ctxLogger) Log(level Level, keyvals ...any) error {
	var pc uintptr
	if c.wantPC {
		pc = entryPC(1)
	}
	return logTo(c.ctx, pc, c.next, level, keyvals)
}

// logContext lets an outer WithContext (or Helper.WithContext) override the
// bound context.
func (c *ctxLogger) logContext(ctx context.Context, pc uintptr, level Level, keyvals []any) error {
	if ctx == nil {
		ctx = c.ctx
	}
	return logTo(ctx, pc, c.next, level, keyvals)
}

func (c *ctxLogger) enabled(ctx context.Context, level Level) bool {
	if ctx == nil {
		ctx = c.ctx
	}
	return enabledFor(ctx, c.next, level)
}

func (c *ctxLogger) wantsPC() bool { return c.wantPC }

// orBackground returns ctx, or context.Background() if ctx is nil.
func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// LogContext logs one record to l with ctx, as WithContext(ctx, l).Log
// would, without allocating the context-bound Logger: middleware that logs
// once per request (an access log) uses it so that trace IDs and other
// context Valuers see the request's context.
//
//go:noinline
func LogContext(ctx context.Context, l Logger, level Level, keyvals ...any) error {
	if _, ok := l.(chainLogger); !ok {
		// A Logger of another package has no way to receive ctx; keyvals
		// are the caller's, so they need no copy either.
		return l.Log(level, keyvals...)
	}
	var pc uintptr
	if wantsPC(l) {
		pc = entryPC(1)
	}
	return logTo(orBackground(ctx), pc, l, level, keyvals)
}
