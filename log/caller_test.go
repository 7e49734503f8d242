package log_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
)

const callerFile = "log/caller_test.go:"

var callerRE = regexp.MustCompile(`caller=(\S+)`)

// callerOf returns the caller field of the last line in buf.
func callerOf(t *testing.T, buf *bytes.Buffer) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	m := callerRE.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("no caller in %q", buf.String())
	}
	return m[1]
}

func wantCaller(t *testing.T, buf *bytes.Buffer, line int) {
	t.Helper()
	if got, want := callerOf(t, buf), callerFile+strconv.Itoa(line); got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}
}

// TestCallerThroughWrappers checks that DefaultCaller reports the line of
// the logging call however the wrappers are nested (the long-standing Kratos
// bug: a fixed depth is wrong as soon as a Filter or a second With is added).
func TestCallerThroughWrappers(t *testing.T) {
	// DefaultCaller uses the call site recorded by the entry point; a Valuer
	// of our own around Caller(1) forces the stack walk.
	walking := log.Caller(1)
	valuers := map[string]log.Valuer{
		"entry": log.DefaultCaller,
		"walk":  func(ctx context.Context) any { return walking(ctx) },
	}
	for vname, valuer := range valuers {
		t.Run(vname, func(t *testing.T) { testCallerThroughWrappers(t, valuer) })
	}
}

func testCallerThroughWrappers(t *testing.T, valuer log.Valuer) {
	var buf bytes.Buffer
	std := log.NewStdLogger(&buf)
	withCaller := func(l log.Logger) log.Logger { return log.With(l, "caller", valuer) }
	ctx := context.Background()

	loggers := map[string]log.Logger{
		"With":                 withCaller(std),
		"Filter(With)":         log.NewFilter(withCaller(std), log.FilterKey("x")),
		"With(Filter)":         withCaller(log.NewFilter(std, log.FilterLevel(log.LevelDebug))),
		"With(With)":           log.With(withCaller(std), "a", 1),
		"Filter(With(Filter))": log.NewFilter(withCaller(log.NewFilter(std)), log.FilterValue("v")),
		"WithContext(With)":    log.WithContext(ctx, withCaller(std)),
		"With(WithContext)":    withCaller(log.WithContext(ctx, std)),
		"Filter(ctx(With))":    log.NewFilter(log.WithContext(ctx, log.NewFilter(withCaller(std)))),
		"With(Filter(With))":   log.With(log.NewFilter(withCaller(std)), "b", 2),
	}
	for name, l := range loggers {
		t.Run(name, func(t *testing.T) {
			h := log.NewHelper(l)
			hc := h.WithContext(ctx)

			ln := line() + 1
			_ = l.Log(log.LevelInfo, "k", "v")
			wantCaller(t, &buf, ln)

			ln = line() + 1
			h.Info("hello")
			wantCaller(t, &buf, ln)

			ln = line() + 1
			h.Infof("hello %d", 1)
			wantCaller(t, &buf, ln)

			ln = line() + 1
			h.Warnw("k", "v")
			wantCaller(t, &buf, ln)

			ln = line() + 1
			_ = h.Log(log.LevelError, "k", "v")
			wantCaller(t, &buf, ln)

			ln = line() + 1
			hc.Errorf("x")
			wantCaller(t, &buf, ln)

			ln = line() + 1
			log.NewHelper(log.NewFilter(l)).Debug("deep")
			wantCaller(t, &buf, ln)

			ln = line() + 1
			slog.New(log.NewSlogHandler(l)).Info("via slog", "k", "v")
			wantCaller(t, &buf, ln)

			ln = line() + 1
			slog.New(log.NewSlogHandler(l)).With("a", 1).WithGroup("g").InfoContext(ctx, "via slog", "k", "v")
			wantCaller(t, &buf, ln)
		})
	}
}

// TestCallerValuerInRecord checks a Caller Valuer passed with the record
// itself rather than bound with With.
func TestCallerValuerInRecord(t *testing.T) {
	var buf bytes.Buffer
	h := log.NewHelper(log.NewFilter(log.NewStdLogger(&buf)))
	ln := line() + 1
	h.Infow("caller", log.DefaultCaller)
	wantCaller(t, &buf, ln)

	buf.Reset()
	ln = line() + 1
	log.NewHelper(log.NewJSONLogger(&buf)).Infow("caller", log.DefaultCaller)
	if want := `"caller":"` + callerFile + strconv.Itoa(ln) + `"`; !strings.Contains(buf.String(), want) {
		t.Errorf("got %s, want %s", buf.String(), want)
	}
}

// logWrapper is a user's own logging function: it needs Caller(1).
func logWrapper(h *log.Helper, msg string) {
	h.Info(msg)
}

func TestCallerExtraSkip(t *testing.T) {
	var buf bytes.Buffer
	h := log.NewHelper(log.With(log.NewStdLogger(&buf), "caller", log.Caller(1)))
	ln := line() + 1
	logWrapper(h, "wrapped")
	wantCaller(t, &buf, ln)

	// Caller(0) reports the wrapper.
	h = log.NewHelper(log.With(log.NewStdLogger(&buf), "caller", log.Caller(-1)))
	logWrapper(h, "wrapped")
	if got := callerOf(t, &buf); !strings.HasPrefix(got, callerFile) {
		t.Errorf("caller = %s, want the wrapper in %s", got, callerFile)
	}

	// Too many frames to skip.
	_ = log.With(log.NewStdLogger(&buf), "caller", log.Caller(1000)).Log(log.LevelInfo)
	if got := callerOf(t, &buf); got != "unknown" {
		t.Errorf("caller = %s, want unknown", got)
	}
}

// recurse calls f at depth n, to push the user's frame below the first
// chunk of the stack walk.
func recurse(n int, f func()) {
	if n == 0 {
		f()
		return
	}
	recurse(n-1, f)
}

// deepLogger is a Logger outside this package that hides the record behind
// many frames of its own before logging: the walk must read further chunks.
type deepLogger struct{ next log.Logger }

func (d deepLogger) Log(level log.Level, keyvals ...any) error {
	var err error
	recurse(20, func() { err = d.next.Log(level, keyvals...) })
	return err
}

func TestCallerDeepStack(t *testing.T) {
	var buf bytes.Buffer
	// Many internal frames: nested Filters between the Helper and With.
	var l log.Logger = log.With(log.NewStdLogger(&buf), "caller", log.DefaultCaller)
	for range 20 {
		l = log.NewFilter(l)
	}
	ln := line() + 1
	log.NewHelper(l).Info("deep")
	wantCaller(t, &buf, ln)

	// A foreign frame below: it is the caller.
	h := log.NewHelper(deepLogger{log.With(log.NewStdLogger(&buf), "caller", log.DefaultCaller)})
	h.Info("x")
	if got := callerOf(t, &buf); !strings.HasPrefix(got, callerFile) {
		t.Errorf("caller = %s, want a frame of %s", got, callerFile)
	}
	// The user's frame deep in the stack.
	recurse(30, func() {
		ln = line() + 1
		log.NewHelper(l).Info("deep")
	})
	wantCaller(t, &buf, ln)

	// The stack walk through more than 40 frames of this package: Caller(1)
	// skips the foreign logger's frame.
	var walk log.Logger = log.With(log.NewStdLogger(&buf), "caller", log.Caller(1))
	for range 20 {
		walk = log.NewFilter(walk)
	}
	h = log.NewHelper(foreignLogger{walk})
	ln = line() + 1
	h.Info("walked")
	wantCaller(t, &buf, ln)
}

// inlinedLog is small enough to be inlined into its caller: the caller
// Valuer must still report this line.
func inlinedLog(h *log.Helper) { h.Info("inlined") }

func TestCallerInlinedUserFrame(t *testing.T) {
	var buf bytes.Buffer
	h := log.NewHelper(log.With(log.NewStdLogger(&buf), "caller", log.DefaultCaller))
	inlinedLog(h)
	_, _, ln := funcLine(inlinedLog)
	wantCaller(t, &buf, ln)

	// And a closure.
	f := func() { h.Warn("closure") }
	ln = line() - 1
	f()
	wantCaller(t, &buf, ln)
}

// funcLine returns the file and first line of f.
func funcLine(f any) (*runtime.Func, string, int) {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	file, ln := fn.FileLine(fn.Entry())
	return fn, file, ln
}

func TestCallerString(t *testing.T) {
	v := log.DefaultCaller(context.Background())
	ln := line() - 1
	if got, want := fmt.Sprint(v), callerFile+strconv.Itoa(ln); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	b, err := v.(interface{ MarshalText() ([]byte, error) }).MarshalText()
	if err != nil || string(b) != fmt.Sprint(v) {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
}

// TestSlogLoggerSource checks that a slog handler with AddSource, behind
// NewSlogLogger, reports the user's call site through the wrappers.
func TestSlogLoggerSource(t *testing.T) {
	var buf bytes.Buffer
	sl := log.NewSlogLogger(slog.NewTextHandler(&buf, &slog.HandlerOptions{AddSource: true}))
	loggers := map[string]log.Logger{
		"direct":       sl,
		"With":         log.With(sl, "a", 1),
		"Filter(With)": log.NewFilter(log.With(sl, "a", 1)),
		"ctx":          log.WithContext(context.Background(), log.NewFilter(sl)),
	}
	srcRE := regexp.MustCompile(`source=\S*/(log/caller_test.go:\d+)`)
	for name, l := range loggers {
		t.Run(name, func(t *testing.T) {
			buf.Reset()
			ln := line() + 1
			log.NewHelper(l).Info("hi")
			m := srcRE.FindStringSubmatch(buf.String())
			if want := callerFile + strconv.Itoa(ln); m == nil || m[1] != want {
				t.Errorf("got %q, want source %s", buf.String(), want)
			}

			buf.Reset()
			ln = line() + 1
			_ = l.Log(log.LevelWarn, "msg", "direct")
			m = srcRE.FindStringSubmatch(buf.String())
			if want := callerFile + strconv.Itoa(ln); m == nil || m[1] != want {
				t.Errorf("Log: got %q, want source %s", buf.String(), want)
			}
		})
	}
}

// slogInfo is a logging wrapper written as the log/slog documentation
// recommends: it records its caller's pc in the slog.Record.
func slogInfo(l *slog.Logger, msg string) {
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:]) // skip runtime.Callers and slogInfo
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, pcs[0])
	_ = l.Handler().Handle(context.Background(), r)
}

// TestCallerFromSlogRecordPC checks that the slog handler path uses the
// record's PC, so slog wrappers that set it report their callers.
func TestCallerFromSlogRecordPC(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(log.NewSlogHandler(log.With(log.NewStdLogger(&buf), "caller", log.DefaultCaller)))
	ln := line() + 1
	slogInfo(l, "wrapped")
	wantCaller(t, &buf, ln)
}

// foreignLogger is a Logger of another package between the Helper and With:
// the call site cannot be handed through it, so the caller Valuer walks the
// stack and reports the first frame outside package log, this Log method.
type foreignLogger struct{ next log.Logger }

func (f foreignLogger) Log(level log.Level, keyvals ...any) error {
	return f.next.Log(level, keyvals...)
}

func TestCallerThroughForeignLogger(t *testing.T) {
	var buf bytes.Buffer
	h := log.NewHelper(foreignLogger{log.With(log.NewStdLogger(&buf), "caller", log.DefaultCaller)})
	h.Info("x")
	_, _, fl := funcLine(foreignLogger.Log)
	wantCaller(t, &buf, fl+1)

	// Caller(1) skips the foreign frame and reports the user.
	h = log.NewHelper(foreignLogger{log.With(log.NewStdLogger(&buf), "caller", log.Caller(1))})
	ln := line() + 1
	h.Info("x")
	wantCaller(t, &buf, ln)
}
