package log_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
)

// record is one captured Log call.
type record struct {
	level   log.Level
	keyvals []any
}

// recorder is a Logger that keeps copies of its records (Log must not retain
// keyvals, so it copies them).
type recorder struct {
	mu      sync.Mutex
	records []record
}

func (r *recorder) Log(level log.Level, keyvals ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, record{level, append([]any(nil), keyvals...)})
	return nil
}

func (r *recorder) last(t *testing.T) record {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.records) == 0 {
		t.Fatal("no record logged")
	}
	return r.records[len(r.records)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// value returns the value of key in keyvals.
func value(t *testing.T, keyvals []any, key string) any {
	t.Helper()
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] == key {
			return keyvals[i+1]
		}
	}
	t.Fatalf("key %q not in %v", key, keyvals)
	return nil
}

// line returns the line number of its caller.
func line() int {
	_, _, l, _ := runtime.Caller(1)
	return l
}

// thisFile is the caller value prefix for this file.
const thisFile = "log/log_test.go:"

func TestStdLoggerFormat(t *testing.T) {
	var buf bytes.Buffer
	l := log.NewStdLogger(&buf)
	var nilErr *customErr
	tests := []struct {
		name    string
		keyvals []any
		want    string
	}{
		{"plain", []any{"msg", "hello", "user", "bob"}, "msg=hello user=bob"},
		{"quoted", []any{"msg", "hello world", "q", `a"b`, "eq", "a=b", "empty", ""}, `msg="hello world" q="a\"b" eq="a=b" empty=""`},
		{"control", []any{"nl", "a\nb", "tab", "a\tb", "bad", "a\xffb"}, `nl="a\nb" tab="a\tb" bad="a\xffb"`},
		{"unicode", []any{"u", "héllo"}, `u=héllo`},
		{"ints", []any{"i", 42, "i8", int8(-8), "i16", int16(16), "i32", int32(-32), "i64", int64(math.MinInt64)}, "i=42 i8=-8 i16=16 i32=-32 i64=-9223372036854775808"},
		{"uints", []any{"u", uint(1), "u8", uint8(8), "u16", uint16(16), "u32", uint32(32), "u64", uint64(math.MaxUint64), "p", uintptr(7)}, "u=1 u8=8 u16=16 u32=32 u64=18446744073709551615 p=7"},
		{"floats", []any{"f", 1.5, "f32", float32(0.1), "nan", math.NaN(), "inf", math.Inf(-1)}, "f=1.5 f32=0.1 nan=NaN inf=-Inf"},
		{"bool nil", []any{"t", true, "f", false, "n", nil}, "t=true f=false n=<nil>"},
		{"error", []any{"err", errors.New("boom: bad thing")}, `err="boom: bad thing"`},
		{"nil error ptr", []any{"err", nilErr}, `err=<nil>`},
		{"time", []any{"t", time.Date(2026, 1, 2, 3, 4, 5, 6000000, time.UTC)}, "t=2026-01-02T03:04:05.006Z"},
		{"duration", []any{"d", 1500 * time.Millisecond, "d2", -3 * time.Microsecond}, "d=1.5s d2=-3µs"},
		{"stringer", []any{"s", stringer("x y")}, `s="x y"`},
		{"bytes", []any{"b", []byte("raw")}, "b=raw"},
		{"struct", []any{"s", struct{ A int }{1}}, "s={A:1}"},
		{"slice", []any{"s", []int{1, 2}}, `s="[1 2]"`},
		{"valuer", []any{"v", log.Valuer(func(context.Context) any { return "computed" })}, "v=computed"},
		{"non-string key", []any{1, "one", "a b", 2}, `1=one "a b"=2`},
		{"unpaired", []any{"a", 1, "lonely"}, `a=1 lonely="KEYVALS UNPAIRED"`},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			if err := l.Log(log.LevelWarn, tt.keyvals...); err != nil {
				t.Fatal(err)
			}
			want := "level=WARN"
			if tt.want != "" {
				want += " " + tt.want
			}
			if got := buf.String(); got != want+"\n" {
				t.Errorf("got  %q\nwant %q", got, want+"\n")
			}
		})
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

type customErr struct{ msg string }

func (e *customErr) Error() string { return e.msg }

type panicStringer struct{}

func (panicStringer) String() string { panic("oops") }

func TestFormatPanic(t *testing.T) {
	var buf bytes.Buffer
	if err := log.NewStdLogger(&buf).Log(log.LevelInfo, "p", panicStringer{}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, "PANIC") || !strings.HasSuffix(got, "\n") {
		t.Errorf("got %q, want a PANIC note", got)
	}
	buf.Reset()
	if err := log.NewJSONLogger(&buf).Log(log.LevelInfo, "p", panicStringer{}); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) || !strings.Contains(buf.String(), "PANIC") {
		t.Errorf("got %q, want valid JSON with a PANIC note", buf.String())
	}
}

func TestUnknownLevel(t *testing.T) {
	var buf bytes.Buffer
	_ = log.NewStdLogger(&buf).Log(log.Level(9), "k", "v")
	if got, want := buf.String(), "level=9 k=v\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	for name, l := range map[string]log.Logger{
		"std":  log.NewStdLogger(failWriter{}),
		"json": log.NewJSONLogger(failWriter{}),
	} {
		err := l.Log(log.LevelInfo, "k", "v")
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "log: write record") {
			t.Errorf("%s: got %v, want a wrapped write error", name, err)
		}
	}
}

func TestJSONLogger(t *testing.T) {
	var buf bytes.Buffer
	l := log.NewJSONLogger(&buf)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := l.Log(log.LevelError,
		"msg", "he said \"hi\"\n\ttab \\ \x01 \u2028 bad\xff",
		"int", -7, "uint", uint64(math.MaxUint64), "float", 2.5, "nan", math.NaN(),
		"bool", true, "nil", nil, "err", errors.New("boom"),
		"time", ts, "dur", 90*time.Second, "bytes", []byte("b"),
		"stringer", stringer("s"), "map", map[string]int{"a": 1}, "struct", struct{ A string }{"x"},
		"chan", make(chan int), 42, "int key", "odd",
	)
	if err != nil {
		t.Fatal(err)
	}
	line := buf.Bytes()
	if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
		t.Fatalf("want exactly one line, got %q", line)
	}
	if !json.Valid(line) {
		t.Fatalf("invalid JSON: %s", line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"level": "ERROR", "msg": "he said \"hi\"\n\ttab \\ \x01 \u2028 bad\uFFFD",
		"int": -7.0, "uint": 1.8446744073709552e19, "float": 2.5, "nan": "NaN",
		"bool": true, "nil": nil, "err": "boom",
		"time": "2026-01-02T03:04:05Z", "dur": "1m30s", "bytes": "b",
		"stringer": "s", "map": map[string]any{"a": 1.0}, "struct": map[string]any{"A": "x"},
		"42": "int key", "odd": "KEYVALS UNPAIRED",
	}
	for k, v := range want {
		if got := m[k]; fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("%s: got %#v, want %#v", k, got, v)
		}
	}
	if s, ok := m["chan"].(string); !ok || !strings.HasPrefix(s, "0x") {
		t.Errorf("chan: got %#v, want its fmt form", m["chan"])
	}
	if !bytes.HasPrefix(line, []byte(`{"level":"ERROR",`)) {
		t.Errorf("level must come first: %s", line)
	}
}

func TestDurationFormat(t *testing.T) {
	var buf bytes.Buffer
	l := log.NewStdLogger(&buf)
	ds := []time.Duration{0, 1, 999, 1000, 1001, 1500, 999999, 1e6, 1234567, 999999999, time.Second,
		time.Second + 1, 61 * time.Second, time.Hour, 90 * time.Minute, 100*time.Hour + 1,
		-1, -1500 * time.Millisecond, math.MaxInt64, math.MinInt64}
	for i := range 2000 {
		ds = append(ds, time.Duration(uint64(i)*0x9E3779B97F4A7C15>>(i%64)))
	}
	for _, d := range ds {
		buf.Reset()
		_ = l.Log(log.LevelInfo, "d", d)
		want := "level=INFO d=" + d.String() + "\n"
		if strings.ContainsAny(d.String(), " =") {
			t.Fatalf("unexpected duration form %q", d)
		}
		if buf.String() != want {
			t.Fatalf("%d: got %q, want %q", int64(d), buf.String(), want)
		}
	}
}

func TestWith(t *testing.T) {
	rec := &recorder{}
	n := 0
	counter := log.Valuer(func(context.Context) any { n++; return n })
	l := log.With(rec, "app", "demo", "n", counter)
	l = log.With(l, "extra", 1) // flattened into one With

	_ = l.Log(log.LevelInfo, "msg", "one")
	_ = l.Log(log.LevelInfo, "msg", "two")
	got := rec.last(t).keyvals
	want := []any{"app", "demo", "n", 2, "extra", 1, "msg", "two"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if rec.records[0].keyvals[3] != 1 {
		t.Errorf("valuer must run per record, got %v", rec.records[0].keyvals)
	}

	// Odd With keyvals get an unpaired marker so record keys stay aligned.
	_ = log.With(rec, "lonely").Log(log.LevelInfo, "k", "v")
	want = []any{"lonely", "KEYVALS UNPAIRED", "k", "v"}
	if got := rec.last(t).keyvals; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWithDoesNotShareState(t *testing.T) {
	rec := &recorder{}
	base := log.With(rec, "a", 1)
	l1 := log.With(base, "b", 2)
	l2 := log.With(base, "c", 3)
	_ = l1.Log(log.LevelInfo)
	_ = l2.Log(log.LevelInfo)
	if got := fmt.Sprint(rec.records[0].keyvals); got != "[a 1 b 2]" {
		t.Errorf("l1: got %s", got)
	}
	if got := fmt.Sprint(rec.records[1].keyvals); got != "[a 1 c 3]" {
		t.Errorf("l2: got %s", got)
	}
}

type ctxKey struct{}

func ctxValuer(ctx context.Context) any {
	if v, ok := ctx.Value(ctxKey{}).(string); ok {
		return v
	}
	return "none"
}

func TestWithContext(t *testing.T) {
	rec := &recorder{}
	l := log.With(rec, "trace", log.Valuer(ctxValuer))
	ctx1 := context.WithValue(context.Background(), ctxKey{}, "t1")
	ctx2 := context.WithValue(context.Background(), ctxKey{}, "t2")

	check := func(name string, want string) {
		t.Helper()
		if got := value(t, rec.last(t).keyvals, "trace"); got != want {
			t.Errorf("%s: trace = %v, want %v", name, got, want)
		}
	}
	_ = l.Log(log.LevelInfo)
	check("no context", "none")

	_ = log.WithContext(ctx1, l).Log(log.LevelInfo)
	check("WithContext", "t1")

	_ = log.WithContext(ctx2, log.WithContext(ctx1, l)).Log(log.LevelInfo)
	check("outer WithContext wins", "t2")

	_ = log.NewFilter(log.WithContext(ctx1, l)).Log(log.LevelInfo)
	check("through Filter", "t1")

	_ = log.WithContext(ctx1, log.NewFilter(l)).Log(log.LevelInfo)
	check("into Filter", "t1")

	// With over a context-bound logger: its Valuers see the context too.
	_ = log.With(log.WithContext(ctx1, rec), "trace2", log.Valuer(ctxValuer)).Log(log.LevelInfo)
	if got := value(t, rec.last(t).keyvals, "trace2"); got != "t1" {
		t.Errorf("With over WithContext: got %v", got)
	}

	h := log.NewHelper(l)
	h.Info("x")
	check("Helper", "none")
	h.WithContext(ctx1).Info("x")
	check("Helper.WithContext", "t1")
	log.NewHelper(log.WithContext(ctx1, l)).Info("x")
	check("Helper over WithContext", "t1")
	log.NewHelper(log.WithContext(ctx1, l)).WithContext(ctx2).Info("x")
	check("Helper.WithContext over WithContext", "t2")
	log.NewHelper(log.NewFilter(l)).WithContext(ctx2).Info("x")
	check("Helper.WithContext through Filter", "t2")

	// A Valuer passed directly to a sink gets the context.
	var buf bytes.Buffer
	log.NewHelper(log.NewStdLogger(&buf)).WithContext(ctx1).Infow("trace", log.Valuer(ctxValuer))
	if got := buf.String(); got != "level=INFO trace=t1\n" {
		t.Errorf("sink Valuer: got %q", got)
	}
	// A nil context is tolerated.
	//nolint:staticcheck // testing nil on purpose
	_ = log.WithContext(nil, l).Log(log.LevelInfo)
	check("nil context", "none")
}

func TestHelper(t *testing.T) {
	rec := &recorder{}
	h := log.NewHelper(rec)
	tests := []struct {
		do    func()
		level log.Level
		want  string
	}{
		{func() { h.Debug("a", 1) }, log.LevelDebug, "[msg a1]"},
		{func() { h.Debugf("n=%d", 1) }, log.LevelDebug, "[msg n=1]"},
		{func() { h.Debugw("k", "v") }, log.LevelDebug, "[k v]"},
		{func() { h.Info("hello") }, log.LevelInfo, "[msg hello]"},
		{func() { h.Info("a", "b") }, log.LevelInfo, "[msg ab]"},
		{func() { h.Infof("%s-%d", "x", 2) }, log.LevelInfo, "[msg x-2]"},
		{func() { h.Infow("k", "v", "odd") }, log.LevelInfo, "[k v odd]"},
		{func() { h.Warn(errors.New("e")) }, log.LevelWarn, "[msg e]"},
		{func() { h.Warnf("w%d", 1) }, log.LevelWarn, "[msg w1]"},
		{func() { h.Warnw("k", 1) }, log.LevelWarn, "[k 1]"},
		{func() { h.Error("bad") }, log.LevelError, "[msg bad]"},
		{func() { h.Errorf("e%v", true) }, log.LevelError, "[msg etrue]"},
		{func() { h.Errorw("err", "x") }, log.LevelError, "[err x]"},
		{func() { _ = h.Log(log.LevelFatal, "k", "v") }, log.LevelFatal, "[k v]"},
	}
	for i, tt := range tests {
		tt.do()
		r := rec.last(t)
		if r.level != tt.level || fmt.Sprint(r.keyvals) != tt.want {
			t.Errorf("%d: got %v %v, want %v %v", i, r.level, r.keyvals, tt.level, tt.want)
		}
	}
	if rec.count() != len(tests) {
		t.Errorf("got %d records, want %d", rec.count(), len(tests))
	}

	log.NewHelper(rec, log.WithMessageKey("message")).Info("hi")
	if got := fmt.Sprint(rec.last(t).keyvals); got != "[message hi]" {
		t.Errorf("WithMessageKey: got %s", got)
	}
	if h.Logger() != rec {
		t.Error("Logger() must return the wrapped logger")
	}
}

// countingStringer counts how often it is formatted.
type countingStringer struct{ n *int }

func (c countingStringer) String() string { *c.n++; return "s" }

func TestHelperSkipsFormattingWhenDisabled(t *testing.T) {
	rec := &recorder{}
	n := 0
	cs := countingStringer{&n}
	h := log.NewHelper(log.With(log.NewFilter(rec, log.FilterLevel(log.LevelWarn)), "k", "v"))
	h.Debugf("%v", cs)
	h.Info(cs)
	h.Debug(cs, cs)
	if n != 0 || rec.count() != 0 {
		t.Errorf("disabled levels formatted %d times, logged %d records", n, rec.count())
	}
	if h.Enabled(log.LevelInfo) || !h.Enabled(log.LevelWarn) {
		t.Error("Enabled does not follow the filter level")
	}
	h.Warnf("%v", cs)
	if n != 1 || rec.count() != 1 {
		t.Errorf("enabled level: formatted %d times, logged %d records", n, rec.count())
	}
	if !log.NewHelper(rec).Enabled(log.LevelDebug) {
		t.Error("a Logger without a level is enabled for everything")
	}
}

func TestFilter(t *testing.T) {
	rec := &recorder{}
	f := log.NewFilter(rec,
		log.FilterLevel(log.LevelInfo),
		log.FilterKey("password", "token"),
		log.FilterValue("secret"),
		log.FilterFunc(func(level log.Level, keyvals ...any) bool {
			return len(keyvals) > 1 && keyvals[1] == "drop me"
		}),
	)
	_ = f.Log(log.LevelDebug, "msg", "too low")
	_ = f.Log(log.LevelInfo, "msg", "drop me")
	if rec.count() != 0 {
		t.Fatalf("records should be dropped, got %v", rec.records)
	}

	kvs := []any{"user", "bob", "password", "hunter2", "note", "secret", 7, "password", "token", 42, "tail"}
	orig := fmt.Sprint(kvs)
	_ = f.Log(log.LevelWarn, kvs...)
	want := "[user bob password *** note *** 7 password token *** tail]"
	if got := fmt.Sprint(rec.last(t).keyvals); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if fmt.Sprint(kvs) != orig {
		t.Errorf("the caller's keyvals were modified: %v", kvs)
	}
	if got := rec.last(t).level; got != log.LevelWarn {
		t.Errorf("level = %v", got)
	}

	// Nothing to mask: passed through as is.
	_ = f.Log(log.LevelError, "a", 1)
	if got := fmt.Sprint(rec.last(t).keyvals); got != "[a 1]" {
		t.Errorf("got %s", got)
	}

	// A Filter inside With masks bound fields too; With inside the Filter
	// adds its fields after filtering.
	var buf bytes.Buffer
	inner := log.With(log.NewFilter(log.NewStdLogger(&buf), log.FilterKey("password")), "password", "bound")
	_ = inner.Log(log.LevelInfo, "password", "call")
	if got := buf.String(); got != "level=INFO password=*** password=***\n" {
		t.Errorf("got %q", got)
	}
}

func TestUnpairedThroughChain(t *testing.T) {
	var buf bytes.Buffer
	l := log.NewFilter(log.With(log.NewStdLogger(&buf), "app", "x"), log.FilterKey("k"))
	log.NewHelper(l).Infow("k", "v", "odd")
	if got, want := buf.String(), `level=INFO app=x k=*** odd="KEYVALS UNPAIRED"`+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConstantValuers(t *testing.T) {
	var buf bytes.Buffer
	l := log.With(log.NewStdLogger(&buf),
		"service.name", log.ServiceName("api"),
		"service.version", log.ServiceVersion("v1.0.0"),
		"service.id", log.ServiceID("host-1"))
	_ = l.Log(log.LevelInfo)
	if got, want := buf.String(), "level=INFO service.name=api service.version=v1.0.0 service.id=host-1\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTimestamp(t *testing.T) {
	v := log.Timestamp(time.Kitchen)(context.Background())
	s := fmt.Sprint(v)
	if _, err := time.Parse(time.Kitchen, s); err != nil {
		t.Errorf("Timestamp(Kitchen) = %q: %v", s, err)
	}
	before := time.Now().Add(-time.Second)
	var buf bytes.Buffer
	_ = log.With(log.NewJSONLogger(&buf), "ts", log.DefaultTimestamp).Log(log.LevelInfo)
	var m map[string]string
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(log.DefaultTimestampLayout, m["ts"])
	if err != nil {
		t.Fatalf("ts %q: %v", m["ts"], err)
	}
	if ts.Before(before) || !strings.Contains(m["ts"], ".") {
		t.Errorf("ts %q is not a current RFC 3339 time with milliseconds", m["ts"])
	}
	if b, err := v.(interface{ MarshalText() ([]byte, error) }).MarshalText(); err != nil || string(b) != s {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
}

func TestDefaultLogger(t *testing.T) {
	if log.DefaultLogger == nil {
		t.Fatal("DefaultLogger is nil")
	}
}

func TestConcurrent(t *testing.T) {
	for name, newLogger := range map[string]func(*bytes.Buffer) log.Logger{
		"std":  func(b *bytes.Buffer) log.Logger { return log.NewStdLogger(b) },
		"json": func(b *bytes.Buffer) log.Logger { return log.NewJSONLogger(b) },
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer // not safe for concurrent use: the logger must serialize writes
			l := log.With(newLogger(&buf), "ts", log.DefaultTimestamp, "caller", log.DefaultCaller)
			h := log.NewHelper(log.NewFilter(l, log.FilterKey("secret")))
			const goroutines, perG = 8, 200
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range perG {
						h.Infow("msg", "concurrent write", "g", g, "i", i, "secret", "x")
					}
				})
			}
			wg.Wait()
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) != goroutines*perG {
				t.Fatalf("got %d lines, want %d", len(lines), goroutines*perG)
			}
			for _, ln := range lines {
				if name == "json" && !json.Valid([]byte(ln)) {
					t.Fatalf("invalid JSON line %q", ln)
				}
				if !strings.Contains(ln, thisFile) || !strings.Contains(ln, "***") || strings.Contains(ln, `"x"`) {
					t.Fatalf("bad line %q", ln)
				}
			}
		})
	}
}

type textMarshaler string

func (t textMarshaler) MarshalText() ([]byte, error) { return []byte(t), nil }

type badAppender struct{}

func (badAppender) AppendText(b []byte) ([]byte, error) {
	return append(b, "partial"...), errors.New("cannot")
}

type jsonMarshaler struct{}

func (jsonMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"x": [1, 2]}`), nil }

func TestFormatTextTypes(t *testing.T) {
	tests := []struct {
		v          any
		text, json string
	}{
		{textMarshaler("plain"), "plain", `"plain"`},
		{textMarshaler("a b"), `"a b"`, `"a b"`},
		{textMarshaler(""), `""`, `""`},
		{textMarshaler("ü\x01"), `"ü\x01"`, `"ü\u0001"`},
		{textMarshaler("bad\xff"), `"bad\xff"`, `"bad\ufffd"`},
		{stringer(`q"uote`), `"q\"uote"`, `"q\"uote"`},
		{stringer("line\u2028sep"), `"line\u2028sep"`, `"line\u2028sep"`},
		{badAppender{}, "{}", `"{}"`}, // AppendText failed: fmt's form
		{jsonMarshaler{}, "{}", `{"x":[1,2]}`},
		{errors.New("x=1"), `"x=1"`, `"x=1"`},
	}
	for _, tt := range tests {
		var tb, jb bytes.Buffer
		_ = log.NewStdLogger(&tb).Log(log.LevelInfo, "k", tt.v)
		_ = log.NewJSONLogger(&jb).Log(log.LevelInfo, "k", tt.v)
		if got, want := tb.String(), "level=INFO k="+tt.text+"\n"; got != want {
			t.Errorf("%T %v: text got %q, want %q", tt.v, tt.v, got, want)
		}
		if got, want := jb.String(), `{"level":"INFO","k":`+tt.json+"}\n"; got != want {
			t.Errorf("%T %v: json got %q, want %q", tt.v, tt.v, got, want)
		}
		if !json.Valid(jb.Bytes()) {
			t.Errorf("invalid JSON %q", jb.String())
		}
	}
}

// TestLargeRecords logs records bigger than the pools keep, so that the
// oversized buffers are dropped rather than pooled.
func TestLargeRecords(t *testing.T) {
	var buf bytes.Buffer
	h := log.NewHelper(log.With(log.NewFilter(log.NewJSONLogger(&buf), log.FilterKey("k0")), "a", 1))
	big := strings.Repeat("x", 100<<10)
	kvs := make([]any, 0, 600)
	for i := range 300 {
		kvs = append(kvs, "k"+fmt.Sprint(i), i)
	}
	for range 3 {
		buf.Reset()
		h.Infow("big", big)
		if buf.Len() < 100<<10 || !json.Valid(buf.Bytes()) {
			t.Fatal("big record mangled")
		}
		buf.Reset()
		h.Infow(kvs...)
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil || len(m) != 302 || m["k0"] != "***" || m["k299"] != 299.0 {
			t.Fatalf("many keyvals: %v, %d keys", err, len(m))
		}
	}
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]log.Level{
		"debug": log.LevelDebug, "INFO": log.LevelInfo, "Warn": log.LevelWarn, "warning": log.LevelWarn,
		"error": log.LevelError, "fatal": log.LevelFatal, "nope": log.LevelInfo,
	} {
		if got := log.ParseLevel(s); got != want {
			t.Errorf("ParseLevel(%q) = %v, want %v", s, got, want)
		}
		if want != log.LevelInfo || s == "INFO" {
			if got := log.ParseLevel(want.String()); got != want {
				t.Errorf("round trip %v: %v", want, got)
			}
		}
	}
}

// retainer is a Logger that keeps the keyvals slices it is given.
type retainer struct{ kept [][]any }

func (r *retainer) Log(_ log.Level, keyvals ...any) error {
	r.kept = append(r.kept, keyvals)
	return nil
}

// TestForeignLoggerMayRetain checks that the pooled slices of Helper, With,
// Filter and the slog handler never reach a Logger of another package.
func TestForeignLoggerMayRetain(t *testing.T) {
	r := &retainer{}
	h := log.NewHelper(log.NewFilter(log.With(r, "n", log.Valuer(func(context.Context) any { return "v" })), log.FilterKey("pw")))
	sl := slog.New(log.NewSlogHandler(r))
	for i := range 3 {
		h.Infow("i", i, "pw", "x")
		h.Infof("f%d", i)
		sl.Info("s", "i", i)
	}
	want := []string{"[n v i 0 pw ***]", "[n v msg f0]", "[msg s i 0]", "[n v i 1 pw ***]"}
	for i, w := range want {
		if got := fmt.Sprint(r.kept[i]); got != w {
			t.Errorf("record %d: got %s, want %s", i, got, w)
		}
	}
}

func TestNonStringKeys(t *testing.T) {
	var tb, jb bytes.Buffer
	kvs := []any{stringer("a b"), 1, nil, 2, 3.5, 3, errors.New(`q"`), 4}
	_ = log.NewStdLogger(&tb).Log(log.LevelInfo, kvs...)
	_ = log.NewJSONLogger(&jb).Log(log.LevelInfo, kvs...)
	if got, want := tb.String(), `level=INFO "a b"=1 <nil>=2 3.5=3 "q\""=4`+"\n"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	if got, want := jb.String(), `{"level":"INFO","a b":1,"<nil>":2,"3.5":3,"q\"":4}`+"\n"; got != want {
		t.Errorf("json: got %q, want %q", got, want)
	}
}
