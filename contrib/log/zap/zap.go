// Package zap adapts a go.uber.org/zap logger to Zelos's log.Logger.
//
//	z, _ := zap.NewProduction()
//	logger := log.With(zaplog.NewLogger(z), "caller", log.DefaultCaller)
//	log.NewHelper(logger).Infow("msg", "started", "port", 8000)
//
// The record's "msg" value (log.DefaultMessageKey) becomes zap's message;
// every other pair becomes a field. Add the caller with log.DefaultCaller,
// not zap.AddCaller: Zelos finds the user's frame however Helper, Filter
// and With are nested, where zap's fixed skip would name this adapter.
//
// LevelFatal records are written at zap's FatalLevel without exiting:
// log.Helper.Fatal exits by itself after the record is written.
package zap

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/zelos-go/zelos/log"
)

// Logger is a log.Logger writing to a zap logger.
type Logger struct {
	z      *zap.Logger
	msgKey string
}

// Option configures a Logger.
type Option func(*Logger)

// WithMessageKey sets the key whose value becomes zap's message. The
// default is log.DefaultMessageKey, "msg".
func WithMessageKey(key string) Option {
	return func(l *Logger) { l.msgKey = key }
}

// NewLogger returns a log.Logger writing to z.
func NewLogger(z *zap.Logger, opts ...Option) *Logger {
	l := &Logger{z: z.WithOptions(zap.WithFatalHook(keepRunning{})), msgKey: log.DefaultMessageKey}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Log implements log.Logger.
func (l *Logger) Log(level log.Level, keyvals ...any) error {
	zl := zapLevel(level)
	if !l.z.Core().Enabled(zl) {
		return nil
	}
	var msg string
	fields := make([]zap.Field, 0, len(keyvals)/2)
	for i := 0; i < len(keyvals); i += 2 {
		key := fmt.Sprint(keyvals[i])
		var v any = "KEYVALS UNPAIRED"
		if i+1 < len(keyvals) {
			v = keyvals[i+1]
		}
		if key == l.msgKey {
			msg = fmt.Sprint(v)
			continue
		}
		fields = append(fields, zap.Any(key, v))
	}
	if ce := l.z.Check(zl, msg); ce != nil {
		ce.Write(fields...)
	}
	return nil
}

// Sync flushes the zap logger's buffers.
func (l *Logger) Sync() error { return l.z.Sync() }

// keepRunning is the fatal hook of the adapter's zap logger: it does
// nothing, so a FatalLevel record is written and the process goes on until
// log.Helper.Fatal exits. zap refuses zapcore.WriteThenNoop as a fatal hook,
// but accepts a hook of one's own.
type keepRunning struct{}

// OnWrite implements zapcore.CheckWriteHook.
func (keepRunning) OnWrite(*zapcore.CheckedEntry, []zapcore.Field) {}

func zapLevel(level log.Level) zapcore.Level {
	switch level {
	case log.LevelDebug:
		return zapcore.DebugLevel
	case log.LevelWarn:
		return zapcore.WarnLevel
	case log.LevelError:
		return zapcore.ErrorLevel
	case log.LevelFatal:
		return zapcore.FatalLevel
	}
	return zapcore.InfoLevel
}
