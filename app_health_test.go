package zelos

import (
	"context"
	"errors"
	"io"
	nethttp "net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

// gateRegistrar holds Register until release is closed, as a slow
// registry would, and records Deregister.
type gateRegistrar struct {
	rec     *recorder
	release chan struct{}
}

func (r *gateRegistrar) Register(ctx context.Context, _ *registry.ServiceInstance) error {
	select {
	case <-r.release:
		r.rec.add("registered")
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *gateRegistrar) Deregister(context.Context, *registry.ServiceInstance) error {
	r.rec.add("deregister")
	return nil
}

// probeClient asks the HTTP probes and the gRPC health service.
type probeClient struct {
	t      *testing.T
	http   *nethttp.Client
	base   string
	health healthpb.HealthClient
}

func newProbeClient(t *testing.T, hs *http.Server, gs *grpc.Server) *probeClient {
	t.Helper()
	hu, err := hs.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	gu, err := gs.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ggrpc.NewClient(gu.Host, ggrpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	tr := &nethttp.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &probeClient{t: t, http: &nethttp.Client{Transport: tr, Timeout: 10 * time.Second}, base: hu.String(), health: healthpb.NewHealthClient(conn)}
}

func (p *probeClient) get(path string) (int, string) {
	p.t.Helper()
	resp, err := p.http.Get(p.base + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (p *probeClient) grpcStatus() healthpb.HealthCheckResponse_ServingStatus {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := p.health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		p.t.Fatalf("grpc health: %v", err)
	}
	return resp.GetStatus()
}

// want waits until /readyz answers code and gRPC health says gs.
func (p *probeClient) want(code int, gs healthpb.HealthCheckResponse_ServingStatus) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, body := p.get("/readyz?verbose")
		g := p.grpcStatus()
		if c == code && g == gs {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("/readyz = %d %q and gRPC health %v, want %d and %v", c, body, g, code, gs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func quietServers() (*http.Server, *grpc.Server) {
	l := log.NewStdLogger(io.Discard)
	return http.NewServer(http.Address("127.0.0.1:0"), http.Logger(l)), grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(l))
}

func TestReadinessFollowsTheApp(t *testing.T) {
	rec := &recorder{}
	reg := &gateRegistrar{rec: rec, release: make(chan struct{})}
	hs, gs := quietServers()
	stopped := make(chan struct{})
	app := New(Name("svc"), Server(hs, gs, newTCPServer("tcp", rec)), Registrar(reg), Signal(),
		DrainDelay(300*time.Millisecond),
		AfterStop(func(context.Context) error { close(stopped); return nil }))
	p := newProbeClient(t, hs, gs)
	done := runApp(app)

	t.Run("not ready until registered", func(t *testing.T) {
		p.want(503, healthpb.HealthCheckResponse_NOT_SERVING)
		if c, body := p.get("/healthz"); c != 200 {
			t.Fatalf("/healthz while starting = %d %q: liveness must not wait", c, body)
		}
		close(reg.release)
		p.want(200, healthpb.HealthCheckResponse_SERVING)
		if c, _ := p.get("/health"); c != 200 {
			t.Fatalf("/health = %d", c)
		}
	})
	t.Run("not ready from the first moment of a stop", func(t *testing.T) {
		_ = app.Stop()
		if s := app.Health().State(); s != health.Stopping {
			t.Fatalf("state after Stop = %v", s)
		}
		// The drain delay keeps the servers serving, unready.
		c, body := p.get("/readyz?verbose")
		if c != 503 || !strings.Contains(body, "[-]stopping") {
			t.Fatalf("/readyz during the drain = %d %q", c, body)
		}
		p.want(503, healthpb.HealthCheckResponse_NOT_SERVING)
		if c, _ := p.get("/healthz"); c != 200 {
			t.Fatalf("/healthz during the drain = %d", c)
		}
	})
	if err := waitRun(t, done, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	<-stopped
	ev := rec.list()
	if i, j := index(ev, "deregister"), index(ev, "tcp:stop"); i < 0 || j < i {
		t.Fatalf("events %v: want deregister before the servers stop", ev)
	}
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func TestStopOrderWithDrainDelay(t *testing.T) {
	const delay = 200 * time.Millisecond
	var mu sync.Mutex
	at := map[string]time.Time{}
	mark := func(e string) {
		mu.Lock()
		at[e] = time.Now()
		mu.Unlock()
	}
	rec := &recorder{}
	srv := newTCPServer("tcp", rec)
	app := New(Name("svc"), Server(&markServer{tcpServer: srv, mark: mark}), Registrar(&markRegistrar{mark: mark}), Signal(), DrainDelay(delay),
		AfterStart(func(context.Context) error { mark("ready"); return nil }))
	done := runApp(app)
	waitFor(t, func() bool { return app.Health().State() == health.Serving })
	_ = app.Stop()
	if err := waitRun(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if at["deregister"].IsZero() || at["stop"].IsZero() {
		t.Fatalf("events %v", at)
	}
	if gap := at["stop"].Sub(at["deregister"]); gap < delay {
		t.Fatalf("servers stopped %v after deregistration, want at least the drain delay %v", gap, delay)
	}
}

// markServer marks its Stop.
type markServer struct {
	*tcpServer
	mark func(string)
}

func (s *markServer) Stop(ctx context.Context) error {
	s.mark("stop")
	return s.tcpServer.Stop(ctx)
}

type markRegistrar struct{ mark func(string) }

func (r *markRegistrar) Register(context.Context, *registry.ServiceInstance) error { return nil }
func (r *markRegistrar) Deregister(context.Context, *registry.ServiceInstance) error {
	r.mark("deregister")
	return nil
}

func TestDrainCutShortBySecondSignal(t *testing.T) {
	rec := &recorder{}
	app := New(Server(newTCPServer("tcp", rec)), Signal(syscall.SIGUSR1), DrainDelay(time.Hour))
	done := runApp(app)
	waitFor(t, func() bool { return app.Health().State() == health.Serving })
	sendUSR1(t)
	waitFor(t, func() bool { return app.Health().State() == health.Stopping })
	// The App drains for an hour unless asked again.
	time.Sleep(50 * time.Millisecond)
	sendUSR1(t)
	if err := waitRun(t, done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestNoDrainForAnAppThatNeverBecameReady(t *testing.T) {
	rec := &recorder{}
	bad := newTCPServer("bad", rec)
	bad.startErr = errors.New("boom")
	app := New(Server(bad), Signal(), DrainDelay(time.Hour))
	err := waitRun(t, runApp(app), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Run = %v", err)
	}
}

func TestReadyWhileTheRegistryIsDown(t *testing.T) {
	reg := &outageRegistrar{rec: &recorder{}, failures: 1000}
	hs, gs := quietServers()
	app := New(Name("svc"), Server(hs, gs), Registrar(reg), Signal())
	p := newProbeClient(t, hs, gs)
	done := runApp(app)
	defer func() { _ = app.Stop(); _ = waitRun(t, done, 10*time.Second) }()
	p.want(200, healthpb.HealthCheckResponse_SERVING)
	_, body := p.get("/readyz?verbose")
	if !strings.Contains(body, "[*]not registered: the registry failed, retrying in the background") {
		t.Fatalf("verbose report %q does not say registration is retried", body)
	}
}

func TestHealthCheckInReadiness(t *testing.T) {
	var mu sync.Mutex
	dbErr := errors.New("dial tcp 10.0.0.9:5432: connection refused")
	hs, gs := quietServers()
	app := New(Server(hs, gs), Signal(), HealthCheck("db", func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return dbErr
	}), HealthCheck("cache", func(context.Context) error { return nil }))
	p := newProbeClient(t, hs, gs)
	done := runApp(app)
	defer func() { _ = app.Stop(); _ = waitRun(t, done, 10*time.Second) }()
	// gRPC health reports the lifecycle only: SERVING with the db down.
	p.want(503, healthpb.HealthCheckResponse_SERVING)
	c, body := p.get("/readyz?verbose")
	want := "[+]serving ok\n[-]db failed\n[+]cache ok\nreadyz check failed\n"
	if c != 503 || body != want {
		t.Fatalf("/readyz?verbose = %d %q, want 503 %q", c, body, want)
	}
	if strings.Contains(body, "10.0.0.9") {
		t.Fatal("the public port's report shows the check's error")
	}
	mu.Lock()
	dbErr = nil
	mu.Unlock()
	p.want(200, healthpb.HealthCheckResponse_SERVING)
	if c, _ := p.get("/healthz"); c != 200 {
		t.Fatalf("/healthz = %d", c)
	}
}

func sendUSR1(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
}
