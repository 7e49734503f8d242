// Package log is Zelos's structured, key-value logger.
//
// A Logger writes one record per call from a level and alternating keys and
// values. Helper adds printf-style and key-value convenience methods, With
// binds fields (including lazily evaluated Valuers such as the caller and a
// timestamp), and Filter drops records by level or masks sensitive values.
// The package interoperates with log/slog in both directions.
//
// # Building a logger
//
// A typical program builds one Logger at start-up and passes it to the
// components that need it (there is no global logger to set):
//
//	logger := log.With(log.NewStdLogger(os.Stdout),
//		"ts", log.DefaultTimestamp,
//		"caller", log.DefaultCaller,
//	)
//	logger = log.NewFilter(logger, log.FilterLevel(log.LevelInfo), log.FilterKey("password"))
//	h := log.NewHelper(logger)
//	h.Infow("msg", "user logged in", "user", "bob", "password", "hunter2")
//	// level=INFO ts=... caller=app/main.go:12 msg="user logged in" user=bob password=***
//
// NewStdLogger writes logfmt and NewJSONLogger one JSON object per line;
// both format common types without allocating. DefaultCaller reports the
// user's file and line however Helper, Filter and With are nested: the call
// site is taken where the record enters this package (or from the
// slog.Record), not at a fixed stack depth.
//
// Request-scoped fields (trace IDs and the like) are Valuers that read a
// context; bind the context with WithContext or Helper.WithContext.
//
// # log/slog, zap, zerolog and logrus
//
// NewSlogHandler turns a Logger into a slog.Handler, so libraries that log
// with slog write through Zelos. NewSlogLogger turns any slog.Handler into a
// Logger: use it to send Zelos logs to slog's own handlers or to zap
// (go.uber.org/zap/exp/zapslog), zerolog or logrus through their slog
// handler adapters, keeping the correct caller for AddSource.
package log

// Logger is the interface every Zelos logger implements. keyvals holds
// alternating keys and values; an odd trailing key gets the value
// "KEYVALS UNPAIRED".
//
// Log must not modify keyvals. Loggers are usually shared by goroutines, so
// implementations should be safe for concurrent use.
type Logger interface {
	Log(level Level, keyvals ...any) error
}
