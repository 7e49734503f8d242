package bench

// Benchmarks of the Zelos logger beside log/slog doing the same work, both
// writing to io.Discard. Run:
//
//	go test -run '^$' -bench Log -benchmem -count 5

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
)

// Values shared by both sides. Variables (not constants) so that boxing
// costs the same on both sides as in real code.
var (
	benchUser    = "bob"
	benchID      = 123456
	benchLatency = 1500 * time.Microsecond
	benchOK      = true
)

func BenchmarkLogInfow(b *testing.B) {
	b.Run("zelos", func(b *testing.B) {
		h := log.NewHelper(log.NewStdLogger(io.Discard))
		b.ReportAllocs()
		for b.Loop() {
			h.Infow("msg", "request done", "user", benchUser, "id", benchID, "latency", benchLatency, "ok", benchOK)
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Info("request done", "user", benchUser, "id", benchID, "latency", benchLatency, "ok", benchOK)
		}
	})
}

func BenchmarkLogInfof(b *testing.B) {
	b.Run("zelos", func(b *testing.B) {
		h := log.NewHelper(log.NewStdLogger(io.Discard))
		b.ReportAllocs()
		for b.Loop() {
			h.Infof("user %s got id %d", benchUser, benchID)
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Info(fmt.Sprintf("user %s got id %d", benchUser, benchID))
		}
	})
}

// BenchmarkLogFilterKey masks one of four fields. slog's equivalent is a
// ReplaceAttr function.
func BenchmarkLogFilterKey(b *testing.B) {
	b.Run("zelos", func(b *testing.B) {
		h := log.NewHelper(log.NewFilter(log.NewStdLogger(io.Discard), log.FilterKey("password")))
		b.ReportAllocs()
		for b.Loop() {
			h.Infow("msg", "login", "user", benchUser, "password", benchUser, "id", benchID)
		}
	})
	b.Run("slog", func(b *testing.B) {
		mask := slog.StringValue(log.Mask)
		l := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == "password" {
					a.Value = mask
				}
				return a
			},
		}))
		b.ReportAllocs()
		for b.Loop() {
			l.Info("login", "user", benchUser, "password", benchUser, "id", benchID)
		}
	})
}

// BenchmarkLogWithCaller logs with a timestamp and the caller's file:line.
// slog always records the time; AddSource adds the caller.
func BenchmarkLogWithCaller(b *testing.B) {
	b.Run("zelos", func(b *testing.B) {
		l := log.With(log.NewStdLogger(io.Discard), "ts", log.DefaultTimestamp, "caller", log.DefaultCaller)
		h := log.NewHelper(l)
		b.ReportAllocs()
		for b.Loop() {
			h.Infow("msg", "request done", "user", benchUser, "id", benchID)
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{AddSource: true}))
		b.ReportAllocs()
		for b.Loop() {
			l.Info("request done", "user", benchUser, "id", benchID)
		}
	})
}

// BenchmarkLogWithContext is BenchmarkLogWithCaller with a per-request
// context bound through Helper.WithContext (slog: InfoContext).
func BenchmarkLogWithContext(b *testing.B) {
	ctx := context.WithValue(context.Background(), struct{}{}, "v")
	b.Run("zelos", func(b *testing.B) {
		l := log.With(log.NewStdLogger(io.Discard), "ts", log.DefaultTimestamp, "caller", log.DefaultCaller)
		h := log.NewHelper(l)
		b.ReportAllocs()
		for b.Loop() {
			h.WithContext(ctx).Infow("msg", "request done", "user", benchUser, "id", benchID)
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{AddSource: true}))
		b.ReportAllocs()
		for b.Loop() {
			l.InfoContext(ctx, "request done", "user", benchUser, "id", benchID)
		}
	})
}

// BenchmarkLogJSON compares the JSON encoders.
func BenchmarkLogJSON(b *testing.B) {
	b.Run("zelos", func(b *testing.B) {
		h := log.NewHelper(log.NewJSONLogger(io.Discard))
		b.ReportAllocs()
		for b.Loop() {
			h.Infow("msg", "request done", "user", benchUser, "id", benchID, "latency", benchLatency, "ok", benchOK)
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Info("request done", "user", benchUser, "id", benchID, "latency", benchLatency, "ok", benchOK)
		}
	})
}

// BenchmarkLogDisabled logs below the enabled level.
func BenchmarkLogDisabled(b *testing.B) {
	b.Run("zelos", func(b *testing.B) {
		h := log.NewHelper(log.NewFilter(log.NewStdLogger(io.Discard), log.FilterLevel(log.LevelInfo)))
		b.ReportAllocs()
		for b.Loop() {
			h.Debugf("user %s got id %d", benchUser, benchID)
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("user", "user", benchUser, "id", benchID)
		}
	})
}
