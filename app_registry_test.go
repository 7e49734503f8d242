package zelos

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// outageRegistrar is a registry that is down for its first failures
// Register calls (each fails at once), or, with block, until the context of
// the call is done, as etcd's lease grant does while etcd is unreachable.
type outageRegistrar struct {
	rec      *recorder
	failures int
	block    bool // Register blocks until its context is done
	blockDe  bool // Deregister blocks until its context is done

	mu           sync.Mutex
	registers    int
	deregisters  int
	deregisterIn time.Duration // the time Deregister's context had left
}

func (r *outageRegistrar) Register(ctx context.Context, ins *registry.ServiceInstance) error {
	r.mu.Lock()
	r.registers++
	n := r.registers
	r.mu.Unlock()
	r.rec.add("register")
	if r.block {
		<-ctx.Done()
		return fmt.Errorf("grant lease: %w", ctx.Err())
	}
	if n <= r.failures {
		return errors.New("registry down")
	}
	r.rec.add("registered")
	return nil
}

func (r *outageRegistrar) Deregister(ctx context.Context, ins *registry.ServiceInstance) error {
	r.mu.Lock()
	r.deregisters++
	if dl, ok := ctx.Deadline(); ok {
		r.deregisterIn = time.Until(dl)
	}
	r.mu.Unlock()
	r.rec.add("deregister")
	if r.blockDe {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (r *outageRegistrar) counts() (registers, deregisters int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registers, r.deregisters
}

// logRecorder keeps the "msg" of every record with its level.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Log(level log.Level, kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "msg" {
			l.msgs = append(l.msgs, level.String()+" "+fmt.Sprint(kv[i+1]))
		}
	}
	return nil
}

func (l *logRecorder) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// runApp runs app in a goroutine and returns the channel of Run's result.
func runApp(app *App) chan error {
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	return done
}

func waitRun(t *testing.T, done chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
		return nil
	}
}

func TestRunWithoutNameFailsBeforeStarting(t *testing.T) {
	rec := &recorder{}
	reg := &outageRegistrar{rec: rec}
	app := New(Server(newTCPServer("s", rec)), Registrar(reg), BeforeStart(hook(rec, "before-start")))
	done := runApp(app)
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		_ = app.Stop()
		<-done
		t.Fatalf("Run kept running without a name; events %v", rec.list())
	}
	if err == nil || !strings.Contains(err.Error(), "zelos: ") || !strings.Contains(err.Error(), "zelos.Name") {
		t.Fatalf("Run = %v, want an error naming zelos.Name", err)
	}
	if ev := rec.list(); len(ev) != 0 {
		t.Errorf("events before the name check failed: %v, want none (nothing bound, started or registered)", ev)
	}
	t.Run("no registrar needs no name", func(t *testing.T) {
		var app *App
		app = New(Server(newTCPServer("s", &recorder{})), AfterStart(func(context.Context) error { cancelApp(app); return nil }))
		if err := app.Run(); err != nil {
			t.Fatal(err)
		}
	})
}

func cancelApp(app *App) { _ = app.Stop() }

func TestRegistrationRetriedWhileRegistryDown(t *testing.T) {
	rec := &recorder{}
	reg := &outageRegistrar{rec: rec, failures: 3}
	logs := &logRecorder{}
	app := New(Name("svc"), Server(newTCPServer("s", rec)), Registrar(reg), Logger(logs),
		AfterStart(hook(rec, "after-start")))
	done := runApp(app)
	// The App serves during the outage: hooks run, the server is up.
	waitFor(t, func() bool { return slices.Contains(rec.list(), "after-start") })
	waitFor(t, func() bool { return slices.Contains(rec.list(), "registered") })
	if n, _ := reg.counts(); n != 4 {
		t.Errorf("Register called %d times, want 4 (3 failures, then success)", n)
	}
	if n := logs.count("WARN app register failed"); n != 3 {
		t.Errorf("logged %d failed registrations, want 3: %v", n, logs.msgs)
	}
	if logs.count("INFO app registered") != 1 {
		t.Errorf("the late registration was not logged: %v", logs.msgs)
	}
	_ = app.Stop()
	if err := waitRun(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, n := reg.counts(); n != 1 {
		t.Errorf("Deregister called %d times, want 1", n)
	}
}

func TestRegistrarFailFast(t *testing.T) {
	rec := &recorder{}
	reg := &outageRegistrar{rec: rec, failures: 1000}
	app := New(Name("svc"), Server(newTCPServer("s", rec)), Registrar(reg), RegistrarFailFast(),
		AfterStart(hook(rec, "after-start")))
	err := waitRun(t, runApp(app), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "registry down") {
		t.Fatalf("Run = %v, want the registration error", err)
	}
	if r, d := reg.counts(); r != 1 || d != 0 {
		t.Errorf("Register called %d times and Deregister %d, want 1 and 0", r, d)
	}
	if ev := rec.list(); slices.Contains(ev, "after-start") || !slices.Contains(ev, "s:stop") {
		t.Errorf("events %v: want the server stopped and no after-start hook", ev)
	}
}

// TestStopDuringRegistryOutage: an App whose registry never answers stops
// at once, without deregistering the instance it never registered.
func TestStopDuringRegistryOutage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failFast bool
		signal   bool
	}{
		{"Stop", false, false},
		{"SIGUSR1", false, true},
		{"fail-fast SIGUSR1", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			reg := &outageRegistrar{rec: rec, block: true}
			opts := []Option{Name("svc"), Server(newTCPServer("s", rec)), Registrar(reg), Signal(syscall.SIGUSR1)}
			if tc.failFast {
				opts = append(opts, RegistrarFailFast())
			}
			app := New(opts...)
			done := runApp(app)
			waitFor(t, func() bool { return slices.Contains(rec.list(), "register") })
			start := time.Now()
			if tc.signal {
				if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
			} else {
				_ = app.Stop()
			}
			// The registrar timeout is 10s: returning well before it shows
			// the attempt was abandoned, not waited out.
			if err := waitRun(t, done, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			t.Logf("stopped in %v", time.Since(start))
			if _, n := reg.counts(); n != 0 {
				t.Errorf("Deregister called %d times for an instance never registered", n)
			}
		})
	}
}

func TestDeregisterBounded(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		if d := New().opts.deregisterTimeout; d <= 0 || d > 5*time.Second {
			t.Errorf("default deregister timeout = %v, want a few seconds", d)
		}
	})
	rec := &recorder{}
	reg := &outageRegistrar{rec: rec, blockDe: true}
	var app *App
	app = New(Name("svc"), Server(newTCPServer("s", rec)), Registrar(reg), DeregisterTimeout(50*time.Millisecond),
		AfterStart(func(context.Context) error { cancelApp(app); return nil }))
	err := waitRun(t, runApp(app), 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "deregister") {
		t.Fatalf("Run = %v, want the deregistration error", err)
	}
	if !slices.Contains(rec.list(), "s:stop") {
		t.Error("the server was not stopped after deregistration timed out")
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.deregisterIn > 50*time.Millisecond {
		t.Errorf("Deregister had %v, want at most the 50ms timeout", reg.deregisterIn)
	}
}

// TestLogCaller: the caller of the App's log lines is the line that logs,
// not a wrapper.
func TestLogCaller(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := log.With(log.NewStdLogger(lockedWriter{&mu, &buf}), "caller", log.DefaultCaller)
	var app *App
	app = New(Name("svc"), Server(newTCPServer("s", &recorder{})), Registrar(&outageRegistrar{rec: &recorder{}}),
		Logger(logger), AfterStart(func(context.Context) error { cancelApp(app); return nil }))
	if err := app.Run(); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("app.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	re := regexp.MustCompile(`caller=(\S+):(\d+) msg=("[^"]*"|\S+)`)
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Errorf("no caller and msg in %q", sc.Text())
			continue
		}
		file, line, msg := m[1], m[2], strings.Trim(m[3], `"`)
		seen[msg] = true
		n, _ := strconv.Atoi(line)
		if !strings.HasSuffix(file, "/app.go") || n < 1 || n > len(lines) {
			t.Errorf("%q logged from %s:%s, want a line of app.go", msg, file, line)
			continue
		}
		// The message is on the reported line or the one before it, for a
		// call wrapped over two lines.
		if !strings.Contains(lines[n-1], msg) && (n < 2 || !strings.Contains(lines[n-2], msg)) {
			t.Errorf("%q reported at app.go:%d, which is %q", msg, n, strings.TrimSpace(lines[n-1]))
		}
	}
	if !seen["app started"] || !seen["app stopped"] {
		t.Errorf("saw messages %v in %q, want at least the start and the stop", seen, out)
	}
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// deafRegistrar's Register ignores its context and blocks until release is
// closed, as a registry client without deadlines would.
type deafRegistrar struct {
	started chan struct{}
	release chan struct{}
}

func (r *deafRegistrar) Register(context.Context, *registry.ServiceInstance) error {
	close(r.started)
	<-r.release
	return nil
}

func (r *deafRegistrar) Deregister(context.Context, *registry.ServiceInstance) error { return nil }

// TestStopWithRegistrarIgnoringContext: a Register call that ignores its
// context holds up the stop for DeregisterTimeout at most.
func TestStopWithRegistrarIgnoringContext(t *testing.T) {
	reg := &deafRegistrar{started: make(chan struct{}), release: make(chan struct{})}
	defer close(reg.release) // lets the registration goroutine end, for goleak
	app := New(Name("svc"), Server(newTCPServer("s", &recorder{})), Registrar(reg), DeregisterTimeout(100*time.Millisecond))
	done := runApp(app)
	<-reg.started
	_ = app.Stop()
	if err := waitRun(t, done, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
