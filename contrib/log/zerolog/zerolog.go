// Package zerolog adapts a github.com/rs/zerolog logger to Zelos's
// log.Logger.
//
//	z := zerolog.New(os.Stdout).With().Timestamp().Logger()
//	logger := log.With(zerologlog.NewLogger(&z), "caller", log.DefaultCaller)
//	log.NewHelper(logger).Infow("msg", "started", "port", 8000)
//
// The record's "msg" value becomes zerolog's message and every other pair a
// field. Add the caller with log.DefaultCaller rather than zerolog's
// Caller(), which would name this adapter. LevelFatal records are written
// at zerolog's FatalLevel without exiting: log.Helper.Fatal exits by itself.
package zerolog

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/zelos-go/zelos/log"
)

// Logger is a log.Logger writing to a zerolog logger.
type Logger struct {
	z      *zerolog.Logger
	msgKey string
}

// Option configures a Logger.
type Option func(*Logger)

// WithMessageKey sets the key whose value becomes zerolog's message. The
// default is log.DefaultMessageKey, "msg".
func WithMessageKey(key string) Option {
	return func(l *Logger) { l.msgKey = key }
}

// NewLogger returns a log.Logger writing to z.
func NewLogger(z *zerolog.Logger, opts ...Option) *Logger {
	l := &Logger{z: z, msgKey: log.DefaultMessageKey}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Log implements log.Logger.
func (l *Logger) Log(level log.Level, keyvals ...any) error {
	// WithLevel, unlike Fatal, never exits.
	e := l.z.WithLevel(zerologLevel(level))
	if e == nil {
		return nil // level disabled
	}
	var msg string
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
		e = e.Interface(key, v)
	}
	e.Msg(msg)
	return nil
}

func zerologLevel(level log.Level) zerolog.Level {
	switch level {
	case log.LevelDebug:
		return zerolog.DebugLevel
	case log.LevelWarn:
		return zerolog.WarnLevel
	case log.LevelError:
		return zerolog.ErrorLevel
	case log.LevelFatal:
		return zerolog.FatalLevel
	}
	return zerolog.InfoLevel
}
