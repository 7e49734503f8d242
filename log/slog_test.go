package log_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/zelos-go/zelos/log"
)

// unflatten turns dotted keys ("G.H.a") into nested maps, the form slogtest
// expects for groups.
func unflatten(flat map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range flat {
		m := out
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = v
	}
	return out
}

func TestSlogHandlerConformance(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t,
		func(*testing.T) slog.Handler {
			buf.Reset()
			return log.NewSlogHandler(log.NewJSONLogger(&buf))
		},
		func(t *testing.T) map[string]any {
			line := bytes.TrimSpace(buf.Bytes())
			if bytes.Count(line, []byte("\n")) != 0 {
				t.Fatalf("want one line, got %q", line)
			}
			var flat map[string]any
			if err := json.Unmarshal(line, &flat); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			m := unflatten(flat)
			// The handler intentionally drops the record time: timestamps come
			// from the Logger's Valuers. As slogtest documents for dropped
			// attributes, check its absence and add it back, except for the
			// case that checks a zero time is dropped.
			if _, ok := m[slog.TimeKey]; ok {
				t.Errorf("unexpected %q key in %s", slog.TimeKey, line)
			}
			if !strings.HasSuffix(t.Name(), "/zero-time") {
				m[slog.TimeKey] = "dropped on purpose"
			}
			return m
		})
}

func TestSlogHandlerOutput(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(log.NewSlogHandler(log.NewStdLogger(&buf)))
	l.With("svc", "api").WithGroup("req").With("id", 7).Info("handled",
		"status", 200, slog.Group("user", "name", "bob"), slog.Group("", "inline", true))
	want := "level=INFO msg=handled svc=api req.id=7 req.status=200 req.user.name=bob req.inline=true\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestSlogHandlerWithAttrsDoesNotShare(t *testing.T) {
	rec := &recorder{}
	h := log.NewSlogHandler(rec).WithAttrs([]slog.Attr{slog.Int("a", 1)})
	h1 := h.WithAttrs([]slog.Attr{slog.Int("b", 2)})
	h2 := h.WithAttrs([]slog.Attr{slog.Int("c", 3)})
	if h.WithAttrs(nil) != h || h.WithGroup("") != h {
		t.Error("empty WithAttrs/WithGroup should return the handler itself")
	}
	slog.New(h1).Info("one")
	slog.New(h2).Info("two")
	if got := fmt.Sprint(rec.records[0].keyvals); got != "[msg one a 1 b 2]" {
		t.Errorf("h1: %s", got)
	}
	if got := fmt.Sprint(rec.records[1].keyvals); got != "[msg two a 1 c 3]" {
		t.Errorf("h2: %s", got)
	}
}

func TestSlogHandlerLevels(t *testing.T) {
	rec := &recorder{}
	h := log.NewSlogHandler(log.NewFilter(rec, log.FilterLevel(log.LevelWarn)))
	ctx := context.Background()
	for _, tc := range []struct {
		level slog.Level
		on    bool
	}{{slog.LevelDebug, false}, {slog.LevelInfo, false}, {slog.LevelWarn, true}, {slog.LevelError, true}} {
		if got := h.Enabled(ctx, tc.level); got != tc.on {
			t.Errorf("Enabled(%v) = %v, want %v", tc.level, got, tc.on)
		}
	}
	l := slog.New(log.NewSlogHandler(rec))
	for _, tc := range []struct {
		level slog.Level
		want  log.Level
	}{
		{slog.LevelDebug - 4, log.LevelDebug}, {slog.LevelDebug, log.LevelDebug}, {slog.LevelInfo, log.LevelInfo},
		{slog.LevelInfo + 1, log.LevelInfo}, {slog.LevelWarn, log.LevelWarn}, {slog.LevelError, log.LevelError},
		{slog.LevelError + 4, log.LevelFatal}, {slog.LevelError + 8, log.LevelFatal},
	} {
		l.Log(ctx, tc.level, "m")
		if got := rec.last(t).level; got != tc.want {
			t.Errorf("slog %v -> %v, want %v", tc.level, got, tc.want)
		}
		if got := log.FromSlogLevel(tc.level); got != tc.want {
			t.Errorf("FromSlogLevel(%v) = %v, want %v", tc.level, got, tc.want)
		}
	}
	for lv, want := range map[log.Level]slog.Level{
		log.LevelDebug: slog.LevelDebug, log.LevelInfo: slog.LevelInfo, log.LevelWarn: slog.LevelWarn,
		log.LevelError: slog.LevelError, log.LevelFatal: slog.LevelError + 4, log.Level(-5): slog.LevelDebug,
	} {
		if got := log.SlogLevel(lv); got != want {
			t.Errorf("SlogLevel(%v) = %v, want %v", lv, got, want)
		}
	}
}

func TestSlogHandlerContext(t *testing.T) {
	var buf bytes.Buffer
	l := log.With(log.NewStdLogger(&buf), "trace", log.Valuer(ctxValuer))
	ctx := context.WithValue(context.Background(), ctxKey{}, "t9")
	slog.New(log.NewSlogHandler(l)).InfoContext(ctx, "hi")
	if got, want := buf.String(), "level=INFO trace=t9 msg=hi\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// ctxHandler is a slog.Handler that records the context it is given.
type ctxHandler struct {
	slog.Handler
	ctxs *[]context.Context
}

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	*h.ctxs = append(*h.ctxs, ctx)
	return h.Handler.Handle(ctx, r)
}

func TestSlogLogger(t *testing.T) {
	var buf bytes.Buffer
	var ctxs []context.Context
	jh := slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	l := log.NewSlogLogger(ctxHandler{jh, &ctxs})
	ctx := context.WithValue(context.Background(), ctxKey{}, "t1")
	h := log.NewHelper(log.With(l, "trace", log.Valuer(ctxValuer))).WithContext(ctx)

	h.Infow("a", 1, "msg", "hello", "msg", "again", 3, "three", "odd")
	want := `{"level":"INFO","msg":"hello","trace":"t1","a":1,"msg":"again","3":"three","odd":"KEYVALS UNPAIRED"}`
	if got := strings.TrimSpace(buf.String()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if len(ctxs) != 1 || ctxs[0] != ctx {
		t.Errorf("handler got contexts %v, want the Helper's", ctxs)
	}

	buf.Reset()
	h.Errorf("failed: %v", errors.New("boom"))
	_ = l.Log(log.LevelFatal, "msg", 42)
	want = `{"level":"ERROR","msg":"failed: boom","trace":"t1"}` + "\n" + `{"level":"ERROR+4","msg":"","msg":42}` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// The handler's level applies, and Helper sees it.
	buf.Reset()
	warn := log.NewHelper(log.NewSlogLogger(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	warn.Info("dropped")
	if buf.Len() != 0 || warn.Enabled(log.LevelInfo) || !warn.Enabled(log.LevelWarn) {
		t.Errorf("level not honored: %q", buf.String())
	}
}

type failHandler struct{ slog.Handler }

func (failHandler) Handle(context.Context, slog.Record) error { return errors.New("handler broke") }

func TestSlogLoggerError(t *testing.T) {
	l := log.NewSlogLogger(failHandler{slog.NewTextHandler(&bytes.Buffer{}, nil)})
	err := l.Log(log.LevelInfo, "msg", "x")
	if err == nil || !strings.Contains(err.Error(), "handler broke") {
		t.Errorf("got %v, want the handler's error", err)
	}
}

func TestSlogLoggerDisabled(t *testing.T) {
	var buf bytes.Buffer
	l := log.NewSlogLogger(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	if err := l.Log(log.LevelWarn, "msg", "dropped"); err != nil || buf.Len() != 0 {
		t.Errorf("got %v, %q; want nothing logged", err, buf.String())
	}
	if err := l.Log(log.LevelError, "msg", "kept"); err != nil || !strings.Contains(buf.String(), "msg=kept") {
		t.Errorf("got %v, %q", err, buf.String())
	}
}
