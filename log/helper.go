package log

import (
	"context"
	"fmt"
	"os"
)

// DefaultMessageKey is the key under which Helper logs messages.
const DefaultMessageKey = "msg"

// Helper wraps a Logger with leveled convenience methods:
//
//   - Info(a...) logs fmt.Sprint(a...) as the message,
//   - Infof(format, a...) logs fmt.Sprintf(format, a...) as the message,
//   - Infow(keyvals...) logs key-value pairs,
//
// and likewise for Debug, Warn, Error and Fatal. Messages are logged under
// the key "msg" (see WithMessageKey). If the Logger filters by level (see
// FilterLevel), disabled levels cost no formatting.
//
// A Helper is safe for concurrent use if its Logger is.
type Helper struct {
	logger Logger
	ctx    context.Context // nil: none
	msgKey any             // boxed once, not per record
	wantPC bool            // the Logger uses the call site (see chainLogger)
}

// HelperOption configures a Helper.
type HelperOption func(*Helper)

// WithMessageKey sets the key under which Helper logs messages (default
// DefaultMessageKey, "msg").
func WithMessageKey(key string) HelperOption {
	return func(h *Helper) { h.msgKey = key }
}

// NewHelper returns a Helper that logs to l.
func NewHelper(l Logger, opts ...HelperOption) *Helper {
	h := &Helper{logger: l, msgKey: DefaultMessageKey}
	for _, o := range opts {
		o(h)
	}
	h.wantPC = wantsPC(l)
	return h
}

// WithContext returns a copy of h whose records carry ctx: Valuers bound with
// With see ctx (trace IDs, ...), as with the package-level WithContext.
func (h *Helper) WithContext(ctx context.Context) *Helper {
	c := *h
	c.ctx = ctx
	return &c
}

// Logger returns the Logger h writes to.
func (h *Helper) Logger() Logger { return h.logger }

// Enabled reports whether a record at level would be logged, as far as the
// Logger can tell; use it to avoid computing expensive fields.
func (h *Helper) Enabled(level Level) bool {
	return enabledFor(h.ctx, h.logger, level)
}

// Log logs keyvals at level.
//
//go:noinline
func (h *Helper) Log(level Level, keyvals ...any) error {
	return h.logw(level, keyvals)
}

// pc returns the call site for the Logger, if it wants one. The Helper
// method the user called must call pc through exactly one other method
// (logw, print or printf).
func (h *Helper) pc() uintptr {
	if !h.wantPC {
		return 0
	}
	return entryPC(3) // 3: pc, logw (or print, printf), the Helper method
}

// logw copies keyvals into a pooled slice before passing them down an
// interface call: only the copy escapes, so the caller's variadic slice can
// stay on its stack.
func (h *Helper) logw(level Level, keyvals []any) error {
	pc := h.pc()
	kvs := getKVs()
	*kvs = append(*kvs, keyvals...)
	err := logTo(h.ctx, pc, h.logger, level, *kvs)
	putKVs(kvs)
	return err
}

// logMsg logs msg under the message key.
func (h *Helper) logMsg(pc uintptr, level Level, msg any) {
	kvs := getKVs()
	*kvs = append(*kvs, h.msgKey, msg)
	_ = logTo(h.ctx, pc, h.logger, level, *kvs)
	putKVs(kvs)
}

func (h *Helper) print(level Level, a []any) {
	if !h.Enabled(level) {
		return
	}
	pc := h.pc()
	if len(a) == 1 {
		if _, ok := a[0].(string); ok {
			// Reuse the caller's boxed string: no formatting, no allocation.
			h.logMsg(pc, level, a[0])
			return
		}
	}
	h.logMsg(pc, level, fmt.Sprint(a...))
}

func (h *Helper) printf(level Level, format string, a []any) {
	if !h.Enabled(level) {
		return
	}
	h.logMsg(h.pc(), level, fmt.Sprintf(format, a...))
}

// Debug logs fmt.Sprint(a...) at LevelDebug.
//
//go:noinline
func (h *Helper) Debug(a ...any) { h.print(LevelDebug, a) }

// Debugf logs fmt.Sprintf(format, a...) at LevelDebug.
//
//go:noinline
func (h *Helper) Debugf(format string, a ...any) { h.printf(LevelDebug, format, a) }

// Debugw logs keyvals at LevelDebug.
//
//go:noinline
func (h *Helper) Debugw(keyvals ...any) { _ = h.logw(LevelDebug, keyvals) }

// Info logs fmt.Sprint(a...) at LevelInfo.
//
//go:noinline
func (h *Helper) Info(a ...any) { h.print(LevelInfo, a) }

// Infof logs fmt.Sprintf(format, a...) at LevelInfo.
//
//go:noinline
func (h *Helper) Infof(format string, a ...any) { h.printf(LevelInfo, format, a) }

// Infow logs keyvals at LevelInfo.
//
//go:noinline
func (h *Helper) Infow(keyvals ...any) { _ = h.logw(LevelInfo, keyvals) }

// Warn logs fmt.Sprint(a...) at LevelWarn.
//
//go:noinline
func (h *Helper) Warn(a ...any) { h.print(LevelWarn, a) }

// Warnf logs fmt.Sprintf(format, a...) at LevelWarn.
//
//go:noinline
func (h *Helper) Warnf(format string, a ...any) { h.printf(LevelWarn, format, a) }

// Warnw logs keyvals at LevelWarn.
//
//go:noinline
func (h *Helper) Warnw(keyvals ...any) { _ = h.logw(LevelWarn, keyvals) }

// Error logs fmt.Sprint(a...) at LevelError.
//
//go:noinline
func (h *Helper) Error(a ...any) { h.print(LevelError, a) }

// Errorf logs fmt.Sprintf(format, a...) at LevelError.
//
//go:noinline
func (h *Helper) Errorf(format string, a ...any) { h.printf(LevelError, format, a) }

// Errorw logs keyvals at LevelError.
//
//go:noinline
func (h *Helper) Errorw(keyvals ...any) { _ = h.logw(LevelError, keyvals) }

// Fatal logs fmt.Sprint(a...) at LevelFatal, then calls os.Exit(1).
//
//go:noinline
func (h *Helper) Fatal(a ...any) {
	h.print(LevelFatal, a)
	os.Exit(1)
}

// Fatalf logs fmt.Sprintf(format, a...) at LevelFatal, then calls
// os.Exit(1).
//
//go:noinline
func (h *Helper) Fatalf(format string, a ...any) {
	h.printf(LevelFatal, format, a)
	os.Exit(1)
}

// Fatalw logs keyvals at LevelFatal, then calls os.Exit(1).
//
//go:noinline
func (h *Helper) Fatalw(keyvals ...any) {
	_ = h.logw(LevelFatal, keyvals)
	os.Exit(1)
}
