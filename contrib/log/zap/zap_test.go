package zap_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	zaplog "github.com/zelos-go/zelos/contrib/log/zap"
	"github.com/zelos-go/zelos/log"
)

func newZap(buf *bytes.Buffer, level zapcore.Level) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "level", EncodeLevel: zapcore.LowercaseLevelEncoder})
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(buf), level))
}

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func callerOf(skip int) string {
	_, file, line, _ := runtime.Caller(skip + 1)
	parts := strings.Split(file, "/")
	return fmt.Sprintf("%s/%s:%d", parts[len(parts)-2], parts[len(parts)-1], line)
}

func TestFieldsLevelsAndMessage(t *testing.T) {
	var buf bytes.Buffer
	l := zaplog.NewLogger(newZap(&buf, zapcore.InfoLevel))
	h := log.NewHelper(l)
	h.Debugw("msg", "hidden")
	h.Infow("msg", "started", "port", 8000, "odd")
	h.Warn("careful")
	h.Errorf("failed: %d", 3)
	_ = l.Log(log.LevelFatal, "msg", "fatal without exiting")
	recs := records(t, &buf)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4 (debug filtered): %s", len(recs), buf.String())
	}
	if recs[0]["msg"] != "started" || recs[0]["port"] != float64(8000) || recs[0]["odd"] != "KEYVALS UNPAIRED" || recs[0]["level"] != "info" {
		t.Fatalf("record = %v", recs[0])
	}
	for i, want := range []string{"info", "warn", "error", "fatal"} {
		if recs[i]["level"] != want {
			t.Errorf("record %d level = %v, want %s", i, recs[i]["level"], want)
		}
	}
	if err := l.Sync(); err != nil {
		t.Logf("sync: %v", err)
	}
}

func TestCallerThroughHelperFilterWith(t *testing.T) {
	var buf bytes.Buffer
	base := log.With(zaplog.NewLogger(newZap(&buf, zapcore.DebugLevel)), "caller", log.DefaultCaller)
	h := log.NewHelper(log.NewFilter(log.With(base, "svc", "user"), log.FilterLevel(log.LevelDebug), log.FilterKey("password")))
	want := callerOf(0)
	h.Infow("msg", "login", "password", "hunter2") // the line after want
	rec := records(t, &buf)[0]
	i := strings.LastIndex(want, ":")
	var n int
	fmt.Sscan(want[i+1:], &n)
	if exp := fmt.Sprintf("%s:%d", want[:i], n+1); rec["caller"] != exp {
		t.Fatalf("caller = %v, want %s", rec["caller"], exp)
	}
	if rec["password"] != "***" || rec["svc"] != "user" {
		t.Fatalf("record = %v", rec)
	}
}

func TestMessageKey(t *testing.T) {
	var buf bytes.Buffer
	l := zaplog.NewLogger(newZap(&buf, zapcore.DebugLevel), zaplog.WithMessageKey("message"))
	_ = l.Log(log.LevelInfo, "message", "hello", "user", "bob")
	rec := records(t, &buf)[0]
	if rec["msg"] != "hello" || rec["user"] != "bob" {
		t.Fatalf("record = %v", rec)
	}
}
