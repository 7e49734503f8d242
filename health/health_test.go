package health_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/health"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStatesOnlyMoveForward(t *testing.T) {
	st := health.NewStatus()
	if got := st.State(); got != health.Starting {
		t.Fatalf("new status = %v, want starting", got)
	}
	st.Set(health.Serving)
	st.Set(health.Stopping)
	st.Set(health.Serving) // a late report must not make it ready again
	st.Set(health.Starting)
	if got := st.State(); got != health.Stopping {
		t.Fatalf("state = %v, want stopping", got)
	}
}

func TestStateString(t *testing.T) {
	for _, tc := range []struct {
		s    health.State
		want string
	}{
		{health.Starting, "starting"},
		{health.Serving, "serving"},
		{health.Stopping, "stopping"},
		{health.State(7), "State(7)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.s.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWatchSeesEveryStateInOrder(t *testing.T) {
	st := health.NewStatus()
	var mu sync.Mutex
	var seen []health.State
	stop := st.Watch(func(s health.State) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
		_ = st.State() // a watcher may read the status
	})
	st.Set(health.Serving)
	st.Set(health.Serving) // no change, no call
	st.Set(health.Stopping)
	stop()
	mu.Lock()
	defer mu.Unlock()
	if want := []health.State{health.Starting, health.Serving, health.Stopping}; !slices.Equal(seen, want) {
		t.Fatalf("watcher saw %v, want %v", seen, want)
	}
}

func TestWatchStopEndsCalls(t *testing.T) {
	st := health.NewStatus()
	calls := 0
	stop := st.Watch(func(health.State) { calls++ })
	stop()
	st.Set(health.Serving)
	if calls != 1 {
		t.Fatalf("calls = %d, want 1 (the current state only)", calls)
	}
}

func TestCheck(t *testing.T) {
	down := errors.New("connection refused")
	t.Run("checks run only while serving", func(t *testing.T) {
		ran := false
		st := health.NewStatus(health.Check{Name: "db", Func: func(context.Context) error { ran = true; return nil }})
		if rep := st.Check(context.Background()); rep.Ready() || ran || rep.Err() == nil {
			t.Fatalf("starting: ready=%v ran=%v err=%v", rep.Ready(), ran, rep.Err())
		}
		st.Set(health.Serving)
		if rep := st.Check(context.Background()); !rep.Ready() || !ran || rep.Err() != nil {
			t.Fatalf("serving: ready=%v ran=%v err=%v", rep.Ready(), ran, rep.Err())
		}
	})
	t.Run("a failing check makes it unready", func(t *testing.T) {
		st := health.NewStatus(
			health.Check{Name: "db", Func: func(context.Context) error { return down }},
			health.Check{Name: "cache", Func: func(context.Context) error { return nil }},
			health.Check{Name: "nil"},
		)
		st.Set(health.Serving)
		rep := st.Check(context.Background())
		if rep.Ready() {
			t.Fatal("ready with a failing check")
		}
		if !errors.Is(rep.Err(), down) || !strings.Contains(rep.Err().Error(), "health: check db:") {
			t.Fatalf("Err() = %v", rep.Err())
		}
		if len(rep.Checks) != 3 || rep.Checks[0].Name != "db" || rep.Checks[1].Err != nil {
			t.Fatalf("checks = %+v", rep.Checks)
		}
	})
	t.Run("a panicking check fails", func(t *testing.T) {
		st := health.NewStatus(health.Check{Name: "boom", Func: func(context.Context) error { panic("nil map") }})
		st.Set(health.Serving)
		if err := st.Check(context.Background()).Err(); err == nil || !strings.Contains(err.Error(), "panicked: nil map") {
			t.Fatalf("Err() = %v", err)
		}
	})
	t.Run("a check is bounded", func(t *testing.T) {
		st := health.NewStatus(health.Check{Name: "slow", Func: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}})
		st.Set(health.Serving)
		start := time.Now()
		err := st.Check(context.Background()).Err()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err() = %v, want a deadline", err)
		}
		// Loose bound: the timeout is 1s, a loaded CI may be slow.
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

func TestContext(t *testing.T) {
	if _, ok := health.FromContext(context.Background()); ok {
		t.Fatal("status in an empty context")
	}
	st := health.NewStatus()
	if got, ok := health.FromContext(health.NewContext(context.Background(), st)); !ok || got != st {
		t.Fatal("status lost")
	}
}

func TestForServer(t *testing.T) {
	st, own := health.ForServer(context.Background())
	if !own || st.State() != health.Serving {
		t.Fatalf("without an App: own=%v state=%v, want a serving status of its own", own, st.State())
	}
	app := health.NewStatus()
	st, own = health.ForServer(health.NewContext(context.Background(), app))
	if own || st != app {
		t.Fatalf("with an App: own=%v, same=%v", own, st == app)
	}
}

func get(t *testing.T, h http.Handler, method, target string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Header()
}

func TestLivenessHandler(t *testing.T) {
	code, body, hdr := get(t, health.LivenessHandler(), "GET", "/healthz")
	if code != 200 || body != "ok\n" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("got %d %q %v", code, body, hdr)
	}
	if code, body, _ := get(t, health.LivenessHandler(), "HEAD", "/healthz"); code != 200 || body != "" {
		t.Fatalf("HEAD: %d %q", code, body)
	}
}

func TestReadinessHandler(t *testing.T) {
	st := health.NewStatus(
		health.Check{Name: "db", Func: func(context.Context) error { return errors.New("dial tcp 10.0.0.9:5432: refused") }},
		health.Check{Name: "cache", Func: func(context.Context) error { return nil }},
	)
	h := health.ReadinessHandler(st)
	for _, tc := range []struct {
		name, target string
		details      bool
		state        health.State
		code         int
		body         string
	}{
		{"starting", "/readyz", false, health.Starting, 503, "not ready: starting\n"},
		{"starting verbose", "/readyz?verbose", false, health.Starting, 503, "[-]starting\nreadyz check failed\n"},
		{"serving, failing check", "/readyz", false, health.Serving, 503, "not ready: serving\n"},
		{"verbose hides errors", "/readyz?verbose", false, health.Serving, 503,
			"[+]serving ok\n[-]db failed\n[+]cache ok\nreadyz check failed\n"},
		{"verbose with details", "/readyz?verbose=1", true, health.Serving, 503,
			"[+]serving ok\n[-]db failed: dial tcp 10.0.0.9:5432: refused\n[+]cache ok\nreadyz check failed\n"},
		{"stopping", "/readyz?verbose", false, health.Stopping, 503, "[-]stopping\nreadyz check failed\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st.Set(tc.state)
			hh := h
			if tc.details {
				hh = health.ReadinessHandler(st, health.WithErrorDetails())
			}
			code, body, _ := get(t, hh, "GET", tc.target)
			if code != tc.code || body != tc.body {
				t.Fatalf("got %d %q, want %d %q", code, body, tc.code, tc.body)
			}
		})
	}
}

func TestReadinessHandlerReady(t *testing.T) {
	st := health.NewStatus(health.Check{Name: "db", Func: func(context.Context) error { return nil }})
	st.Set(health.Serving)
	st.SetNote("not registered: retrying")
	h := health.ReadinessHandler(st)
	if code, body, _ := get(t, h, "GET", "/readyz"); code != 200 || body != "ok\n" {
		t.Fatalf("got %d %q", code, body)
	}
	want := "[+]serving ok\n[+]db ok\n[*]not registered: retrying\nreadyz check passed\n"
	if code, body, _ := get(t, h, "GET", "/readyz?verbose"); code != 200 || body != want {
		t.Fatalf("got %d %q, want %q", code, body, want)
	}
}
