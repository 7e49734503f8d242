package http

import (
	"context"
	nethttp "net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/middleware"
)

func TestProbesWithoutUserCode(t *testing.T) {
	var calls atomic.Int32
	count := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			calls.Add(1)
			return next(ctx, req)
		}
	}
	_, base := startServer(t, Middleware(count), PathPrefix("/api"))
	c := testClient(t)
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/healthz", 200, "ok\n"},
		{"GET", "/readyz", 200, "ok\n"},
		{"GET", "/health", 200, "ok\n"},
		{"HEAD", "/readyz", 200, ""},
		{"GET", "/readyz?verbose", 200, "[+]serving ok\nreadyz check passed\n"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := do(t, c, tc.method, base+tc.path, "", "")
			if r.status != tc.status || r.body != tc.body {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, tc.status, tc.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
	t.Run("other methods are not probes", func(t *testing.T) {
		r := do(t, c, "POST", base+"/readyz", "", "")
		if code, reason, _, _ := errBody(t, r); r.status != 404 || code != 404 || reason != ReasonNotFound {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("no pprof on the public port", func(t *testing.T) {
		if r := do(t, c, "GET", base+"/debug/pprof/", "", ""); r.status != 404 {
			t.Fatalf("/debug/pprof/ = %d, want 404: pprof belongs on the admin server", r.status)
		}
	})
	t.Run("probes skip the middleware chain", func(t *testing.T) {
		if n := calls.Load(); n != 0 {
			t.Fatalf("middleware ran %d times for probes", n)
		}
	})
}

func TestProbesUserRouteWins(t *testing.T) {
	srv, base := startServer(t)
	srv.HandleFunc("GET /health", func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		_, _ = w.Write([]byte("mine"))
	})
	c := testClient(t)
	if r := do(t, c, "GET", base+"/health", "", ""); r.status != 200 || r.body != "mine" {
		t.Fatalf("/health: got %d %q, want the user's route", r.status, r.body)
	}
	if r := do(t, c, "GET", base+"/readyz", "", ""); r.status != 200 || r.body != "ok\n" {
		t.Fatalf("/readyz: got %d %q", r.status, r.body)
	}
}

func TestProbeOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ServerOption
		want map[string]int // path: status
	}{
		{"disabled", []ServerOption{DisableProbes()},
			map[string]int{"/healthz": 404, "/readyz": 404, "/health": 404}},
		{"moved", []ServerOption{LivenessPaths("/live"), ReadinessPaths("/ready", "/ping")},
			map[string]int{"/live": 200, "/ready": 200, "/ping": 200, "/healthz": 404, "/readyz": 404, "/health": 404}},
		{"readiness only", []ServerOption{LivenessPaths()},
			map[string]int{"/healthz": 404, "/readyz": 200, "/health": 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, base := startServer(t, tc.opts...)
			c := testClient(t)
			for path, want := range tc.want {
				if r := do(t, c, "GET", base+path, "", ""); r.status != want {
					t.Errorf("GET %s: %d %q, want %d", path, r.status, r.body, want)
				}
			}
		})
	}
}

func TestReadinessFollowsTheAppStatus(t *testing.T) {
	st := health.NewStatus()
	srv := NewServer(Address("127.0.0.1:0"), Logger(discard))
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(health.NewContext(context.Background(), st)) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Error(err)
		}
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	c := testClient(t)
	readyz := u.String() + "/readyz"
	wantStatus := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			// Set is synchronous; the loop only bounds a slow start.
			r := do(t, c, "GET", readyz, "", "")
			if r.status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz = %d %q, want %d", r.status, r.body, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wantStatus(503)
	st.Set(health.Serving)
	wantStatus(200)
	st.Set(health.Stopping) // the App's stop: still serving, not ready
	wantStatus(503)
	if r := do(t, c, "GET", u.String()+"/healthz", "", ""); r.status != 200 {
		t.Fatalf("/healthz while stopping = %d, want 200: liveness does not follow readiness", r.status)
	}
}

func TestProbesOfAServerOnItsOwn(t *testing.T) {
	t.Run("never started: ready", func(t *testing.T) {
		srv := NewServer(Logger(discard))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != 200 {
			t.Fatalf("got %d", rec.Code)
		}
	})
	t.Run("unready once Stop begins", func(t *testing.T) {
		var p probeSet
		p.init()
		p.start(context.Background())
		if st := p.status.Load(); st.State() != health.Serving {
			t.Fatalf("started: %v", st.State())
		}
		p.stop()
		rec := httptest.NewRecorder()
		if !p.serve(rec, httptest.NewRequest("GET", "/readyz", nil), "/readyz") || rec.Code != 503 {
			t.Fatalf("after stop: %d %q", rec.Code, rec.Body)
		}
	})
	t.Run("an App's status is left to the App", func(t *testing.T) {
		var p probeSet
		p.init()
		st := health.NewStatus()
		st.Set(health.Serving)
		p.start(health.NewContext(context.Background(), st))
		p.stop()
		if st.State() != health.Serving {
			t.Fatalf("the server's Stop changed the App's state to %v", st.State())
		}
	})
}
