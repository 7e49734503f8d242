package zelos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder collects the order of lifecycle events.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// tcpServer is a real TCP server: Endpoint binds, Start accepts, Stop closes.
type tcpServer struct {
	name     string
	rec      *recorder
	startErr error

	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
	info AppInfo
}

func newTCPServer(name string, rec *recorder) *tcpServer {
	return &tcpServer{name: name, rec: rec, done: make(chan struct{})}
}

func (s *tcpServer) listen() (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.rec.add(s.name + ":bind")
		s.ln = ln
	}
	return s.ln, nil
}

func (s *tcpServer) Endpoint() (*url.URL, error) {
	ln, err := s.listen()
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "tcp", Host: ln.Addr().String()}, nil
}

func (s *tcpServer) Start(ctx context.Context) error {
	info, _ := FromContext(ctx)
	s.mu.Lock()
	s.info = info
	s.mu.Unlock()
	s.rec.add(s.name + ":start")
	if s.startErr != nil {
		return s.startErr
	}
	ln, err := s.listen()
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			<-s.done
			return nil
		}
		c.Close()
	}
}

func (s *tcpServer) Stop(ctx context.Context) error {
	s.rec.add(s.name + ":stop")
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	if s.ln != nil {
		return s.ln.Close()
	}
	return nil
}

// checkingRegistrar records calls and checks that every endpoint accepts
// connections at registration time.
type checkingRegistrar struct {
	rec       *recorder
	t         *testing.T
	instances []*registry.ServiceInstance
}

func (r *checkingRegistrar) Register(ctx context.Context, ins *registry.ServiceInstance) error {
	for _, e := range ins.Endpoints {
		u, err := url.Parse(e)
		if err != nil {
			r.t.Errorf("bad endpoint %q: %v", e, err)
			continue
		}
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			r.t.Errorf("endpoint %s registered but not listening: %v", e, err)
			continue
		}
		c.Close()
	}
	r.instances = append(r.instances, ins)
	r.rec.add("register")
	return nil
}

func (r *checkingRegistrar) Deregister(ctx context.Context, ins *registry.ServiceInstance) error {
	r.rec.add("deregister")
	return nil
}

func hook(rec *recorder, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, ok := FromContext(ctx); !ok {
			return fmt.Errorf("%s: no app info in context", name)
		}
		rec.add(name)
		return nil
	}
}

func TestRunOrder(t *testing.T) {
	rec := &recorder{}
	s1, s2 := newTCPServer("s1", rec), newTCPServer("s2", rec)
	reg := &checkingRegistrar{rec: rec, t: t}
	app := New(
		ID("id-1"), Name("user.service"), Version("v1.2.3"), Metadata(map[string]string{"zone": "a"}),
		Server(s1, s2), Registrar(reg),
		BeforeStart(hook(rec, "before-start")), AfterStart(hook(rec, "after-start")),
		BeforeStop(hook(rec, "before-stop")), AfterStop(hook(rec, "after-stop")),
		AfterStart(func(context.Context) error { rec.add("stopping"); return nil }),
	)
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	waitFor(t, func() bool { return slices.Contains(rec.list(), "stopping") })
	if err := app.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	ev := rec.list()
	idx := func(e string) int {
		i := slices.Index(ev, e)
		if i < 0 {
			t.Fatalf("event %q missing from %v", e, ev)
		}
		return i
	}
	// Bind before anything else (the registrar also checks that every
	// endpoint accepts connections when it is registered), register before
	// after-start; deregister before any server stops; after-stop last.
	// Start runs in its own goroutine, so only its call is checked (idx
	// fails the test if it is missing), not its place in the order.
	for _, s := range []string{"s1", "s2"} {
		if idx(s+":bind") > idx("before-start") || idx(s+":start") < 0 {
			t.Errorf("bad start order: %v", ev)
		}
		if idx("deregister") > idx(s+":stop") || idx(s+":stop") > idx("after-stop") {
			t.Errorf("bad stop order: %v", ev)
		}
	}
	if idx("register") > idx("after-start") || idx("before-stop") > idx("deregister") {
		t.Errorf("bad order: %v", ev)
	}
	if len(reg.instances) != 1 || len(reg.instances[0].Endpoints) != 2 {
		t.Fatalf("registered %+v", reg.instances)
	}
	ins := reg.instances[0]
	if ins.ID != "id-1" || ins.Name != "user.service" || ins.Version != "v1.2.3" || ins.Metadata["zone"] != "a" {
		t.Errorf("instance = %+v", ins)
	}
	if got := app.Endpoint(); !slices.Equal(got, ins.Endpoints) {
		t.Errorf("Endpoint() = %v, want %v", got, ins.Endpoints)
	}
	s1.mu.Lock()
	info := s1.info
	s1.mu.Unlock()
	if info == nil || info.Name() != "user.service" || info.ID() != "id-1" || info.Version() != "v1.2.3" {
		t.Errorf("server saw app info %v", info)
	}
}

func TestServerStartFailureStopsOthers(t *testing.T) {
	rec := &recorder{}
	good, bad := newTCPServer("good", rec), newTCPServer("bad", rec)
	boom := errors.New("boom: address in use")
	bad.startErr = boom
	app := New(Server(good, bad), Signal())
	err := app.Run()
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
	if !slices.Contains(rec.list(), "good:stop") {
		t.Fatalf("the good server was not stopped: %v", rec.list())
	}
}

func TestBeforeStartErrorAborts(t *testing.T) {
	rec := &recorder{}
	s := newTCPServer("s", rec)
	app := New(Server(s), BeforeStart(func(context.Context) error { return errors.New("no db") }))
	if err := app.Run(); err == nil || !contains(err.Error(), "no db") {
		t.Fatalf("Run = %v", err)
	}
	if slices.Contains(rec.list(), "s:start") {
		t.Fatal("server started despite a failing before-start hook")
	}
}

func TestSignalStops(t *testing.T) {
	rec := &recorder{}
	s := newTCPServer("s", rec)
	app := New(Server(s), Signal(syscall.SIGUSR1), AfterStart(hook(rec, "after-start")))
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	waitFor(t, func() bool { return slices.Contains(rec.list(), "after-start") })
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("signal did not stop the app")
	}
}

func TestContextCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	app := New(Context(ctx), Server(newTCPServer("s", rec)), AfterStart(func(context.Context) error { cancel(); return nil }))
	if err := app.Run(); err != nil {
		t.Fatal(err)
	}
}

func TestStopBeforeRun(t *testing.T) {
	app := New(Server(newTCPServer("s", &recorder{})))
	_ = app.Stop()
	if err := app.Run(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultID(t *testing.T) {
	a, b := New(), New()
	if a.ID() == "" || a.ID() == b.ID() {
		t.Fatalf("ids %q %q", a.ID(), b.ID())
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
