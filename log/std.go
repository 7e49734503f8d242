package log

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// DefaultLogger writes logfmt to os.Stderr with a timestamp and the caller:
//
//	level=INFO ts=2026-01-02T15:04:05.000Z caller=app/main.go:12 msg=hello
//
// It is a convenience for programs and tests that do not configure logging.
// It is read-only: there is no setter, and code must not reassign it;
// components take a Logger explicitly instead of using a global one.
var DefaultLogger Logger = With(NewStdLogger(os.Stderr), "ts", DefaultTimestamp, "caller", DefaultCaller)

// NewStdLogger returns a Logger that writes each record to w as one line of
// logfmt, with the level first:
//
//	level=INFO ts=2026-01-02T15:04:05.000Z caller=app/main.go:12 msg="hello world" user=bob
//
// Values containing spaces, '=', '"', control or non-printable characters,
// and empty values are quoted with Go (and logfmt) escaping. Common types are
// formatted without fmt and without allocating; each record is written with
// a single call to w.Write. The Logger is safe for concurrent use; calls to
// w are serialized.
func NewStdLogger(w io.Writer) Logger {
	return &stdLogger{w: w}
}

type stdLogger struct {
	mu sync.Mutex
	w  io.Writer
}

// Log implements Logger.
//
//go:noinline
func (l *stdLogger) Log(level Level, keyvals ...any) error {
	return l.logContext(nil, 0, level, keyvals)
}

func (l *stdLogger) logContext(ctx context.Context, _ uintptr, level Level, keyvals []any) error {
	buf := getBuf()
	b := append(*buf, LevelKey+"="...)
	b = appendLevel(b, level)
	for i := 0; i < len(keyvals); i += 2 {
		b = append(b, ' ')
		b = appendTextKey(ctx, b, keyvals[i])
		b = append(b, '=')
		if i+1 < len(keyvals) {
			b = appendTextValue(ctx, b, keyvals[i+1])
		} else {
			b = append(b, `"`+unpaired+`"`...)
		}
	}
	b = append(b, '\n')
	*buf = b
	err := l.write(b)
	putBuf(buf)
	return err
}

func (l *stdLogger) enabled(context.Context, Level) bool { return true }

func (l *stdLogger) wantsPC() bool { return false }

func (l *stdLogger) write(b []byte) error {
	l.mu.Lock()
	_, err := l.w.Write(b)
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("log: write record: %w", err)
	}
	return nil
}

// NewJSONLogger returns a Logger that writes each record to w as one JSON
// object on its own line, with the level first:
//
//	{"level":"INFO","ts":"2026-01-02T15:04:05.000Z","msg":"hello world","user":"bob"}
//
// Strings, numbers, booleans, errors (their message), times (RFC 3339),
// durations ("1.5s") and Stringers are encoded without allocating; other
// values go through encoding/json. Each record is written with a single call
// to w.Write. The Logger is safe for concurrent use; calls to w are
// serialized.
func NewJSONLogger(w io.Writer) Logger {
	return &jsonLogger{stdLogger{w: w}}
}

type jsonLogger struct {
	stdLogger
}

// Log implements Logger.
//
//go:noinline
func (l *jsonLogger) Log(level Level, keyvals ...any) error {
	return l.logContext(nil, 0, level, keyvals)
}

func (l *jsonLogger) logContext(ctx context.Context, _ uintptr, level Level, keyvals []any) error {
	buf := getBuf()
	b := append(*buf, `{"`+LevelKey+`":"`...)
	b = appendLevel(b, level)
	b = append(b, '"')
	for i := 0; i < len(keyvals); i += 2 {
		b = append(b, ',')
		b = appendJSONKey(ctx, b, keyvals[i])
		b = append(b, ':')
		if i+1 < len(keyvals) {
			b = appendJSONValue(ctx, b, keyvals[i+1])
		} else {
			b = append(b, `"`+unpaired+`"`...)
		}
	}
	b = append(b, '}', '\n')
	*buf = b
	err := l.write(b)
	putBuf(buf)
	return err
}
