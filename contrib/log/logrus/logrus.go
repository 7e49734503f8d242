// Package logrus adapts a github.com/sirupsen/logrus logger to Zelos's
// log.Logger.
//
//	logger := log.With(logruslog.NewLogger(logrus.New()), "caller", log.DefaultCaller)
//	log.NewHelper(logger).Infow("msg", "started", "port", 8000)
//
// The record's "msg" value becomes logrus's message and every other pair a
// field. Add the caller with log.DefaultCaller rather than logrus's
// SetReportCaller, which would name this adapter. LevelFatal records are
// written at logrus's FatalLevel without exiting: log.Helper.Fatal exits by
// itself.
package logrus

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/zelos-go/zelos/log"
)

// Logger is a log.Logger writing to a logrus logger.
type Logger struct {
	l      *logrus.Logger
	msgKey string
}

// Option configures a Logger.
type Option func(*Logger)

// WithMessageKey sets the key whose value becomes logrus's message. The
// default is log.DefaultMessageKey, "msg".
func WithMessageKey(key string) Option {
	return func(l *Logger) { l.msgKey = key }
}

// NewLogger returns a log.Logger writing to l.
func NewLogger(l *logrus.Logger, opts ...Option) *Logger {
	lg := &Logger{l: l, msgKey: log.DefaultMessageKey}
	for _, o := range opts {
		o(lg)
	}
	return lg
}

// Log implements log.Logger.
func (l *Logger) Log(level log.Level, keyvals ...any) error {
	ll := logrusLevel(level)
	if !l.l.IsLevelEnabled(ll) {
		return nil
	}
	var msg string
	fields := make(logrus.Fields, len(keyvals)/2)
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
		fields[key] = v
	}
	// Entry.Log writes at any level without calling the logger's exit
	// function, unlike Entry.Fatal.
	l.l.WithFields(fields).Log(ll, msg)
	return nil
}

func logrusLevel(level log.Level) logrus.Level {
	switch level {
	case log.LevelDebug:
		return logrus.DebugLevel
	case log.LevelWarn:
		return logrus.WarnLevel
	case log.LevelError:
		return logrus.ErrorLevel
	case log.LevelFatal:
		return logrus.FatalLevel
	}
	return logrus.InfoLevel
}
