package log

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// slogLevelFatal is the slog level used for LevelFatal.
const slogLevelFatal = slog.LevelError + 4

// SlogLevel returns the slog level for level: Debug, Info, Warn and Error map
// to their slog namesakes and LevelFatal to slog.LevelError+4.
func SlogLevel(level Level) slog.Level {
	switch {
	case level <= LevelDebug:
		return slog.LevelDebug
	case level == LevelInfo:
		return slog.LevelInfo
	case level == LevelWarn:
		return slog.LevelWarn
	case level == LevelError:
		return slog.LevelError
	default:
		return slogLevelFatal
	}
}

// FromSlogLevel returns the level for a slog level: below slog.LevelInfo is
// LevelDebug, below slog.LevelWarn is LevelInfo, below slog.LevelError is
// LevelWarn, below slog.LevelError+4 is LevelError, and the rest LevelFatal.
func FromSlogLevel(level slog.Level) Level {
	switch {
	case level < slog.LevelInfo:
		return LevelDebug
	case level < slog.LevelWarn:
		return LevelInfo
	case level < slog.LevelError:
		return LevelWarn
	case level < slogLevelFatal:
		return LevelError
	default:
		return LevelFatal
	}
}

// NewSlogHandler returns a slog.Handler that writes to l, so that code using
// log/slog (libraries, slog.New(h)) logs through a Zelos Logger:
//
//	slog.New(log.NewSlogHandler(logger)).Info("hello", "user", "bob")
//
// The record's message is logged under "msg", then the attributes. Groups are
// flattened into dotted keys ("req.method"); LogValuers are resolved. Levels
// are mapped with FromSlogLevel, and Enabled asks l (a Filter answers for its
// level). The record's time and source are not logged as such: timestamps
// and the caller come from l's Valuers (DefaultTimestamp, DefaultCaller),
// and DefaultCaller reports the record's PC, the code that called slog. The
// context given to the slog call reaches l's Valuers.
func NewSlogHandler(l Logger) slog.Handler {
	return &slogHandler{logger: l}
}

type slogHandler struct {
	logger Logger
	group  string // open groups as a key prefix, "g1.g2."
	attrs  []any  // keyvals from WithAttrs, flattened and resolved
}

// Enabled implements slog.Handler.
func (h *slogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return enabledFor(ctx, h.logger, FromSlogLevel(level))
}

// Handle implements slog.Handler.
func (h *slogHandler) Handle(ctx context.Context, r slog.Record) error {
	kvs := getKVs()
	s := append(*kvs, DefaultMessageKey, r.Message)
	s = append(s, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		s = appendAttr(s, h.group, a)
		return true
	})
	*kvs = s
	err := logTo(ctx, r.PC, h.logger, FromSlogLevel(r.Level), s) // slog found the call site
	putKVs(kvs)
	return err
}

// WithAttrs implements slog.Handler.
func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.attrs = slices.Grow(slices.Clip(h.attrs), 2*len(attrs)) // never share h's array
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, h.group, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// appendAttr appends a as flat keyvals, with group prefixing its key.
func appendAttr(kvs []any, group string, a slog.Attr) []any {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return kvs
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return kvs
		}
		if a.Key != "" {
			group += a.Key + "."
		}
		for _, ga := range attrs {
			kvs = appendAttr(kvs, group, ga)
		}
		return kvs
	}
	key := a.Key
	if group != "" {
		key = group + key
	}
	return append(kvs, key, a.Value.Any())
}

// NewSlogLogger returns a Logger that writes to a slog.Handler. Any logging
// library with a slog.Handler (slog's text and JSON handlers, zap's
// zapslog, zerolog and logrus adapters, ...) can so sit behind Zelos.
//
// The value of the first "msg" key that holds a string becomes the record's
// message; the other keyvals become attributes, with Valuers called. Levels
// map with SlogLevel. The record's PC is the user's call site, found the
// same way as Caller does, so a handler with AddSource reports the code that
// called Helper, Filter or With, not this package. The context given to
// WithContext or Helper.WithContext is passed to the handler.
func NewSlogLogger(h slog.Handler) Logger {
	return &slogLogger{h: h}
}

type slogLogger struct {
	h slog.Handler
}

// Log implements Logger.
//
//go:noinline
func (l *slogLogger) Log(level Level, keyvals ...any) error {
	if !l.h.Enabled(context.Background(), SlogLevel(level)) {
		return nil
	}
	return l.logContext(nil, entryPC(1), level, keyvals)
}

func (l *slogLogger) logContext(ctx context.Context, pc uintptr, level Level, keyvals []any) error {
	ctx = orBackground(ctx)
	sl := SlogLevel(level)
	if !l.h.Enabled(ctx, sl) {
		return nil
	}
	if pc == 0 {
		pc = callerPC(1, 0) // 1: this method
	}
	r := slog.NewRecord(time.Now(), sl, "", pc)
	msgDone := false
	for i := 0; i < len(keyvals); i += 2 {
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		if i+1 >= len(keyvals) {
			r.AddAttrs(slog.String(key, unpaired))
			break
		}
		v := keyvals[i+1]
		if vf, ok := v.(Valuer); ok {
			v = vf(ctx)
		}
		if !msgDone && key == DefaultMessageKey {
			if s, ok := v.(string); ok {
				r.Message = s
				msgDone = true
				continue
			}
		}
		r.AddAttrs(slog.Any(key, v))
	}
	if err := l.h.Handle(ctx, r); err != nil {
		return fmt.Errorf("log: slog handler: %w", err)
	}
	return nil
}

func (l *slogLogger) enabled(ctx context.Context, level Level) bool {
	return l.h.Enabled(orBackground(ctx), SlogLevel(level))
}

func (l *slogLogger) wantsPC() bool { return true }
