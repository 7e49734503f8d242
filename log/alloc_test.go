package log_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
)

// TestAllocs pins the allocation counts of the hot paths (allocations are
// deterministic, unlike timings). sync.Pool drops items at random under the
// race detector, so the test only runs without it.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is randomized under the race detector")
	}
	std := log.NewStdLogger(io.Discard)
	js := log.NewJSONLogger(io.Discard)
	err := io.EOF
	d := 3 * time.Second
	now := time.Now()
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		// Constant values are boxed statically: nothing to allocate.
		{"Helper.Infow std", 0, func() { helperStd.Infow("msg", "hello", "n", 1, "ok", true) }},
		{"Logger.Log std", 1, func() { _ = std.Log(log.LevelInfo, "msg", "hello") }}, // the variadic slice escapes through the interface
		{"Logger.Log json", 1, func() { _ = js.Log(log.LevelInfo, "msg", "hello") }},
		{"Helper.Info std", 0, func() { helperStd.Info("hello") }},
		{"Helper.Infow json", 0, func() { helperJSON.Infow("msg", "hello", "n", 1, "ok", true) }},
		{"typed values std", 3, func() { helperStd.Infow("err", err, "d", d, "t", now) }},
		{"typed values json", 3, func() { helperJSON.Infow("err", err, "d", d, "t", now) }},
		{"Filter masking", 0, func() { helperFilter.Infow("user", "bob", "password", "x") }},
		{"Filter disabled Debugf", 0, func() { helperFilter.Debugf("x %d", 1) }},
		{"With constants", 0, func() { helperWith.Infow("k", "v") }},
		// One allocation each for the timestamp and the caller values.
		{"With ts+caller", 2, func() { helperFull.Infow("k", "v") }},
		{"Filter+With ts+caller", 2, func() { helperFilterFull.Infow("k", "v") }},
		// slog attributes are boxed for the Logger: the message, and each
		// attribute's key and value.
		{"slog handler", 3, func() { slogger.Info("hello", "k", "v") }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(200, tt.f); got > tt.max {
			t.Errorf("%s: %v allocs, want <= %v", tt.name, got, tt.max)
		}
	}
}

var (
	helperStd        = log.NewHelper(log.NewStdLogger(io.Discard))
	helperJSON       = log.NewHelper(log.NewJSONLogger(io.Discard))
	helperFilter     = log.NewHelper(log.NewFilter(log.NewStdLogger(io.Discard), log.FilterLevel(log.LevelInfo), log.FilterKey("password")))
	helperWith       = log.NewHelper(log.With(log.NewStdLogger(io.Discard), "app", "x", "ver", 1))
	helperFull       = log.NewHelper(log.With(log.NewStdLogger(io.Discard), "ts", log.DefaultTimestamp, "caller", log.DefaultCaller))
	helperFilterFull = log.NewHelper(log.NewFilter(log.With(log.NewStdLogger(io.Discard), "ts", log.DefaultTimestamp, "caller", log.DefaultCaller), log.FilterKey("k")))
	slogger          = slog.New(log.NewSlogHandler(log.NewStdLogger(io.Discard)))
)
