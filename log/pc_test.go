package log

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
)

// pcSink is a chain Logger that records the call-site pc it is given.
type pcSink struct{ pcs []uintptr }

func (s *pcSink) Log(Level, ...any) error { s.pcs = append(s.pcs, 0); return nil }

func (s *pcSink) logContext(_ context.Context, pc uintptr, _ Level, _ []any) error {
	s.pcs = append(s.pcs, pc)
	return nil
}
func (s *pcSink) enabled(context.Context, Level) bool { return true }
func (s *pcSink) wantsPC() bool                       { return true }

func here() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

// TestEntryPointsPassPC checks that every entry point hands the user's call
// site down the chain, so that DefaultCaller needs no stack walk. (The
// functions of this test are in package log, so a stack walk would skip
// them: a wrong or missing pc cannot go unnoticed.)
func TestEntryPointsPassPC(t *testing.T) {
	sink := &pcSink{}
	chains := map[string]Logger{
		"sink":         sink,
		"With":         With(sink, "a", 1),
		"Filter(With)": NewFilter(With(sink, "a", 1), FilterKey("a")),
		"ctx(Filter)":  WithContext(context.Background(), NewFilter(sink)),
		"With(ctx)":    With(WithContext(context.Background(), sink), "b", 2),
	}
	for name, l := range chains {
		h := NewHelper(l)
		calls := []struct {
			line int
			f    func()
		}{
			{here(), func() { h.Info("x") }},
			{here(), func() { h.Infof("x %d", 1) }},
			{here(), func() { h.Errorw("k", "v") }},
			{here(), func() { h.WithContext(context.Background()).Warn("x", 1) }},
			{here(), func() { _ = h.Log(LevelInfo, "k", "v") }},
			{here(), func() { _ = l.Log(LevelInfo, "k", "v") }},
			{here(), func() { slog.New(NewSlogHandler(l)).Info("x") }},
		}
		for i, c := range calls {
			n := len(sink.pcs)
			c.f()
			if name == "sink" && i == 5 {
				continue // the sink's own Log is not an entry point of this package
			}
			if len(sink.pcs) != n+1 {
				t.Fatalf("%s/%d: no record", name, i)
			}
			got := source(sink.pcs[n]).String()
			if want := "log/pc_test.go:" + strconv.Itoa(c.line); got != want {
				t.Errorf("%s/%d: pc is at %s, want %s", name, i, got, want)
			}
		}
	}
	if wantsPC(NewStdLogger(io.Discard)) || wantsPC(With(NewStdLogger(io.Discard), "ts", DefaultTimestamp)) {
		t.Error("chains without a caller Valuer must not ask for the pc")
	}
	if !wantsPC(NewFilter(With(NewStdLogger(io.Discard), "caller", DefaultCaller))) {
		t.Error("a chain with DefaultCaller must ask for the pc")
	}
	if !wantsPC(DefaultLogger) {
		t.Error("DefaultLogger must use the entry pc for its caller")
	}
	if wantsPC(With(NewStdLogger(io.Discard), "caller", Caller(1))) {
		t.Error("Caller(1) walks the stack; it cannot use the entry pc")
	}
	if source(0).String() != "unknown" {
		t.Error("source(0) must format as unknown")
	}
}
