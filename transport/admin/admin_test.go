package admin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/admin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = log.NewStdLogger(io.Discard)

// start runs srv with ctx and returns its base URL; it is stopped at the
// end of the test.
func start(t *testing.T, ctx context.Context, srv *admin.Server) string {
	t.Helper()
	addr, err := srv.Addr()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return "http://" + addr.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServes(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("# TYPE up gauge\nup 1\n"))
	})
	base := start(t, context.Background(), admin.NewServer(admin.Address("127.0.0.1:0"), admin.Logger(quiet),
		admin.Metrics(metrics), admin.Handle("GET /config", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("cfg"))
		}))))
	for _, tc := range []struct {
		path string
		code int
		has  string
	}{
		{"/metrics", 200, "up 1"},
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ok"},
		{"/readyz?verbose", 200, "[+]serving ok"},
		{"/debug/pprof/", 200, "goroutine"},
		{"/debug/pprof/cmdline", 200, ""},
		{"/debug/pprof/goroutine?debug=1", 200, "goroutine profile"},
		{"/config", 200, "cfg"},
		{"/nope", 404, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := get(t, base+tc.path)
			if code != tc.code || !strings.Contains(body, tc.has) {
				t.Fatalf("got %d %.200q, want %d with %q", code, body, tc.code, tc.has)
			}
		})
	}
}

func TestPprofOff(t *testing.T) {
	base := start(t, context.Background(), admin.NewServer(admin.Address("127.0.0.1:0"), admin.Logger(quiet), admin.Pprof(false)))
	if code, _ := get(t, base+"/debug/pprof/"); code != 404 {
		t.Fatalf("/debug/pprof/ = %d, want 404", code)
	}
	if code, _ := get(t, base+"/metrics"); code != 404 {
		t.Fatalf("/metrics without a handler = %d, want 404", code)
	}
}

func TestReadinessFollowsTheApp(t *testing.T) {
	st := health.NewStatus(health.Check{Name: "db", Func: func(context.Context) error { return errors.New("dial tcp 10.0.0.9:5432: refused") }})
	base := start(t, health.NewContext(context.Background(), st), admin.NewServer(admin.Address("127.0.0.1:0"), admin.Logger(quiet)))
	if code, body := get(t, base+"/readyz"); code != 503 {
		t.Fatalf("starting: %d %q", code, body)
	}
	st.Set(health.Serving)
	// Off the public port, the report shows the checks' errors.
	code, body := get(t, base+"/readyz?verbose")
	if code != 503 || !strings.Contains(body, "[-]db failed: dial tcp 10.0.0.9:5432: refused") {
		t.Fatalf("verbose: %d %q", code, body)
	}
}

func TestIsNotAnEndpointer(t *testing.T) {
	// The App registers the endpoints of Endpointers: the admin port must
	// never be advertised to clients.
	var srv transport.Server = admin.NewServer()
	if _, ok := srv.(transport.Endpointer); ok {
		t.Fatal("the admin server is a transport.Endpointer")
	}
}

func TestLifecycle(t *testing.T) {
	t.Run("stop before start", func(t *testing.T) {
		srv := admin.NewServer(admin.Address("127.0.0.1:0"), admin.Logger(quiet))
		if _, err := srv.Addr(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			t.Fatalf("Start after Stop = %v, want nil", err)
		}
		if _, err := srv.Addr(); err != nil {
			t.Fatalf("Addr of the bound listener = %v", err)
		}
		fresh := admin.NewServer(admin.Address("127.0.0.1:0"))
		_ = fresh.Stop(context.Background())
		if _, err := fresh.Addr(); err == nil || !strings.HasPrefix(err.Error(), "transport/admin: ") {
			t.Fatalf("Addr after Stop = %v", err)
		}
	})
	t.Run("listen error", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		srv := admin.NewServer(admin.Address(ln.Addr().String()), admin.Logger(quiet))
		if err := srv.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "transport/admin: listen") {
			t.Fatalf("Start = %v", err)
		}
	})
	t.Run("listener and double start", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := admin.NewServer(admin.Listener(ln), admin.Logger(quiet))
		base := start(t, context.Background(), srv)
		if code, _ := get(t, base+"/healthz"); code != 200 {
			t.Fatalf("/healthz = %d", code)
		}
		if err := srv.Start(context.Background()); err == nil {
			t.Fatal("second Start succeeded")
		}
	})
	t.Run("ready on its own from Start", func(t *testing.T) {
		srv := admin.NewServer(admin.Address("127.0.0.1:0"), admin.Logger(quiet))
		addr, err := srv.Addr()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Start(context.Background()) }()
		if code, _ := get(t, "http://"+addr.String()+"/readyz"); code != 200 {
			t.Fatalf("/readyz = %d", code)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
