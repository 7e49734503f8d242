package log_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/zelos-go/zelos/log"
)

func ExampleNewStdLogger() {
	l := log.NewStdLogger(os.Stdout)
	_ = l.Log(log.LevelInfo, "msg", "hello world", "user", "bob", "attempt", 2)
	// Output:
	// level=INFO msg="hello world" user=bob attempt=2
}

func ExampleNewJSONLogger() {
	l := log.NewJSONLogger(os.Stdout)
	_ = l.Log(log.LevelWarn, "msg", "disk almost full", "free_mb", 512, "ok", false)
	// Output:
	// {"level":"WARN","msg":"disk almost full","free_mb":512,"ok":false}
}

func ExampleNewHelper() {
	h := log.NewHelper(log.NewStdLogger(os.Stdout))
	h.Info("server started")
	h.Infof("listening on %s", ":8000")
	h.Warnw("msg", "slow request", "path", "/users", "ms", 1234)
	// Output:
	// level=INFO msg="server started"
	// level=INFO msg="listening on :8000"
	// level=WARN msg="slow request" path=/users ms=1234
}

func ExampleWith() {
	// Bind fields to every record. Valuers such as log.DefaultTimestamp and
	// log.DefaultCaller are evaluated per record (left out here to keep the
	// output stable).
	l := log.With(log.NewStdLogger(os.Stdout), "service", "billing", "version", "v1.2.0")
	h := log.NewHelper(l)
	h.Info("invoice sent")
	// Output:
	// level=INFO service=billing version=v1.2.0 msg="invoice sent"
}

func ExampleWithContext() {
	type requestIDKey struct{}
	requestID := log.Valuer(func(ctx context.Context) any {
		id, _ := ctx.Value(requestIDKey{}).(string)
		return id
	})
	h := log.NewHelper(log.With(log.NewStdLogger(os.Stdout), "request_id", requestID))

	ctx := context.WithValue(context.Background(), requestIDKey{}, "r-42")
	h.WithContext(ctx).Info("handled")
	// Output:
	// level=INFO request_id=r-42 msg=handled
}

func ExampleNewFilter() {
	l := log.NewFilter(log.NewStdLogger(os.Stdout),
		log.FilterLevel(log.LevelInfo),
		log.FilterKey("password"),
		log.FilterValue("4111-1111-1111-1111"),
	)
	h := log.NewHelper(l)
	h.Debug("not shown")
	h.Infow("msg", "login", "user", "bob", "password", "hunter2", "card", "4111-1111-1111-1111")
	// Output:
	// level=INFO msg=login user=bob password=*** card=***
}

func ExampleNewSlogHandler() {
	// Route code that logs with log/slog through a Zelos Logger.
	l := slog.New(log.NewSlogHandler(log.NewStdLogger(os.Stdout)))
	l.Info("from slog", "user", "bob", slog.Group("req", "method", "GET"))
	// Output:
	// level=INFO msg="from slog" user=bob req.method=GET
}

func ExampleNewSlogLogger() {
	// Send Zelos logs to any slog.Handler (slog's own, zap, zerolog, ...).
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // drop the time for a stable example
			}
			return a
		},
	})
	log.NewHelper(log.NewSlogLogger(h)).Infow("msg", "to slog", "user", "bob")
	// Output:
	// level=INFO msg="to slog" user=bob
}
