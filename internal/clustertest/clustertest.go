// Package clustertest runs one end-to-end service-discovery scenario
// against any registry, so that the in-memory registry and the registries
// under contrib/registry are held to the same behaviour.
//
// The scenario: three instances of a gRPC echo service, each a real
// zelos.App with a Zelos gRPC server on 127.0.0.1:0 and its own Registrar,
// and one client dialing discovery:///echo through the registry's Discovery
// and calling continuously from a few goroutines. With that traffic running:
//
//   - every instance receives traffic;
//   - an instance stopped gracefully (App.Stop: deregister, then drain)
//     makes no call fail;
//   - an instance that crashes (its registration abandoned, its connections
//     reset, nothing deregistered) makes calls fail for at most the
//     registry's TTL plus one second;
//   - a fourth instance receives traffic within a second of being started.
//
// The package is a test helper: it is imported by _test.go files only.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport/grpc"
)

// Service is the name the echo instances register under.
const Service = "echo"

const (
	// wait bounds every "eventually" check; generous for a loaded machine.
	wait = 15 * time.Second
	// callTimeout bounds each call of the load, so no goroutine hangs.
	callTimeout = 5 * time.Second
	// maxLoad bounds how long the load runs even if nothing stops it.
	maxLoad = 2 * time.Minute
	// workers is the number of goroutines calling the service.
	workers = 4
	// pause is the pause between two calls of a worker; it keeps the load
	// at a few hundred calls a second, enough to see every change.
	pause = 2 * time.Millisecond
	// observe is how long the load keeps running after a change before the
	// change's outcome is judged.
	observe = time.Second
	// maxFailing is how long, beyond the TTL, calls may keep failing after
	// an instance crashed.
	maxFailing = time.Second
	// maxJoin is how long a new instance may take to receive traffic.
	maxJoin = time.Second
)

// Env is the registry under test.
type Env struct {
	// NewRegistrar returns the Registrar of one new instance, and crash,
	// which makes the registrar abandon its registrations without
	// deregistering them, as if the process had died. For a registry with
	// leases, crash closes the instance's own client so the lease expires
	// after the TTL; for one without, Crashable is enough. After crash,
	// Deregister must do nothing (wrap r with Crashable): the instance's
	// App is still stopped when the test ends, and a dead process would not
	// deregister.
	NewRegistrar func(t testing.TB) (r registry.Registrar, crash func())
	// Discovery is what the client resolves discovery:///echo with.
	Discovery registry.Discovery
	// TTL is the longest the registry keeps the registration of an
	// instance that crashed; 0 for registries that keep it until
	// deregistered, such as the in-memory one.
	TTL time.Duration
}

// Crashable wraps r so that, once crash is called, Deregister does nothing.
// It simulates the crash of an instance for registries without leases.
func Crashable(r registry.Registrar) (reg registry.Registrar, crash func()) {
	c := &crashable{r: r}
	return c, c.crash
}

type crashable struct {
	r       registry.Registrar
	mu      sync.Mutex
	crashed bool
}

func (c *crashable) crash() {
	c.mu.Lock()
	c.crashed = true
	c.mu.Unlock()
}

func (c *crashable) Register(ctx context.Context, s *registry.ServiceInstance) error {
	return c.r.Register(ctx, s)
}

func (c *crashable) Deregister(ctx context.Context, s *registry.ServiceInstance) error {
	c.mu.Lock()
	crashed := c.crashed
	c.mu.Unlock()
	if crashed {
		return nil
	}
	return c.r.Deregister(ctx, s)
}

// Run runs the scenario as subtests of t. It stops at the first subtest
// that fails, since each builds on the state the previous one left.
func Run(t *testing.T, env Env) {
	t.Helper()
	if env.NewRegistrar == nil || env.Discovery == nil {
		t.Fatal("clustertest: Env needs NewRegistrar and Discovery")
	}
	// The scenario's expected failures are reported by the test, not logged.
	c := &cluster{t: t, env: env, logger: log.NewStdLogger(io.Discard)}
	for i := 1; i <= 3; i++ {
		c.start(fmt.Sprintf("echo-%d", i))
	}
	l := c.startLoad()

	steps := []struct {
		name string
		fn   func(*testing.T, *cluster, *load)
	}{
		{"AllInstancesServe", allInstancesServe},
		{"GracefulStopLosesNoCall", gracefulStop},
		{"CrashFailuresEndWithinTTL", crash},
		{"NewInstanceServesWithinOneSecond", scaleOut},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, c, l) }) {
			return
		}
	}
}

// allInstancesServe checks that the client spreads calls over the three
// instances.
func allInstancesServe(t *testing.T, c *cluster, l *load) {
	ids := c.running()
	eventually(t, "every instance to serve calls", func() bool {
		served := l.served()
		for _, id := range ids {
			if served[id] == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("calls per instance: %v", l.served())
	if f := l.failures(); len(f) > 0 {
		t.Fatalf("%d calls failed before any instance stopped, first: %v", len(f), f[0].err)
	}
}

// gracefulStop stops an instance with App.Stop under load: no call may
// fail.
func gracefulStop(t *testing.T, c *cluster, l *load) {
	l.reset()
	victim := c.instances[0]
	start := time.Now()
	if err := victim.stop(); err != nil {
		t.Fatalf("stop %s: %v", victim.id, err)
	}
	t.Logf("App.Stop of %s (deregister, graceful stop) took %v", victim.id, time.Since(start).Round(time.Millisecond))
	if c.listed(t, victim.id) {
		t.Errorf("%s is still registered after App.Stop returned", victim.id)
	}
	stopped := l.mark()
	time.Sleep(observe)

	calls, served := l.since(stopped)
	if f := l.failures(); len(f) > 0 {
		for _, x := range f[:min(len(f), 5)] {
			t.Errorf("call failed %v after the stop began: %v", x.at.Sub(start).Round(time.Millisecond), x.err)
		}
		t.Fatalf("%d calls failed while %s stopped gracefully; want none", len(f), victim.id)
	}
	if served[victim.id] > 0 {
		t.Fatalf("%s served %d calls after it stopped", victim.id, served[victim.id])
	}
	if calls == 0 {
		t.Fatal("no call succeeded after the graceful stop")
	}
	t.Logf("%d calls succeeded in the %v after the stop: %v", calls, observe, served)
}

// crash kills an instance without deregistration: calls may fail until
// the registry forgets it, plus a second.
func crash(t *testing.T, c *cluster, l *load) {
	l.reset()
	victim := c.instances[1]
	killed := time.Now()
	victim.crash()
	victim.lis.kill()
	t.Logf("crashed %s: registration abandoned, connections reset", victim.id)

	if c.env.TTL > 0 {
		eventually(t, "the crashed instance to leave the registry", func() bool { return !c.listed(t, victim.id) })
		gone := time.Since(killed)
		t.Logf("the registry dropped %s %v after the crash (TTL %v)", victim.id, gone.Round(time.Millisecond), c.env.TTL)
		// etcd expires leases on its own schedule (checked every 500ms):
		// allow it a few seconds beyond the TTL before calling it a bug.
		if limit := c.env.TTL + 3*time.Second; gone > limit {
			t.Errorf("the registry kept the crashed instance for %v; want at most %v", gone, limit)
		}
	}
	after := l.mark()
	time.Sleep(observe)

	failures := l.failures()
	calls, served := l.since(after)
	if len(failures) == 0 {
		t.Logf("no call failed after the crash")
	} else {
		last := failures[len(failures)-1].at.Sub(killed)
		t.Logf("%d calls failed after the crash, the last %v after it (limit TTL+%v = %v); first error: %v",
			len(failures), last.Round(time.Millisecond), maxFailing, c.env.TTL+maxFailing, failures[0].err)
		if last > c.env.TTL+maxFailing {
			for _, x := range failures[max(len(failures)-5, 0):] {
				t.Errorf("call failed %v after the crash: %v", x.at.Sub(killed).Round(time.Millisecond), x.err)
			}
			t.Fatalf("calls kept failing %v after the crash; want at most TTL+%v = %v", last, maxFailing, c.env.TTL+maxFailing)
		}
	}
	if calls == 0 {
		t.Fatal("no call succeeded after the crash")
	}
	t.Logf("%d calls succeeded in the %v after that: %v", calls, observe, served)
}

// scaleOut starts a fourth instance under load: it must serve within a
// second.
func scaleOut(t *testing.T, c *cluster, l *load) {
	l.reset()
	start := time.Now()
	ins := c.start("echo-4")
	registered := ins.registeredAt.Sub(start)
	eventually(t, ins.id+" to serve a call", func() bool { return !l.firstServed(ins.id).IsZero() })
	first := l.firstServed(ins.id).Sub(start)
	t.Logf("%s: registered %v and served its first call %v after App.Run began",
		ins.id, registered.Round(100*time.Microsecond), first.Round(100*time.Microsecond))
	if first > maxJoin {
		t.Errorf("%s took %v to serve its first call; want at most %v", ins.id, first, maxJoin)
	}
	if f := l.failures(); len(f) > 0 {
		t.Fatalf("%d calls failed while %s joined, first: %v", len(f), ins.id, f[0].err)
	}
}

// eventually polls cond until it holds, failing the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cluster is the echo instances of one Run.
type cluster struct {
	t         *testing.T
	env       Env
	logger    log.Logger // for the servers and the client: discards
	instances []*instance
}

// instance is one echo instance: an App serving on a listener the test can
// kill.
type instance struct {
	id           string
	app          *zelos.App
	lis          *killableListener
	crash        func()
	registeredAt time.Time
	exited       chan struct{} // closed when Run has returned
	runErr       error         // Run's result, once exited is closed

	stopOnce sync.Once
	stopErr  error
}

// start runs an echo instance and returns once it is registered. It is
// stopped when the test ends.
func (c *cluster) start(id string) *instance {
	t := c.t
	t.Helper()
	reg, crash := c.env.NewRegistrar(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for %s: %v", id, err)
	}
	ins := &instance{id: id, lis: newKillableListener(ln), crash: crash, exited: make(chan struct{})}
	srv := grpc.NewServer(grpc.Listener(ins.lis), grpc.Logger(c.logger))
	testpb.RegisterTestServiceServer(srv, echo{id: id})
	registered := make(chan struct{})
	ins.app = zelos.New(
		zelos.ID(id),
		zelos.Name(Service),
		zelos.Server(srv),
		zelos.Registrar(reg),
		zelos.Signal(), // no signal handling in tests
		zelos.RegistrarTimeout(wait),
		zelos.StopTimeout(wait),
		zelos.AfterStart(func(context.Context) error {
			ins.registeredAt = time.Now()
			close(registered)
			return nil
		}),
	)
	go func() {
		ins.runErr = ins.app.Run()
		close(ins.exited)
	}()
	t.Cleanup(func() {
		start := time.Now()
		if err := ins.stop(); err != nil {
			t.Errorf("stop %s: %v", id, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Logf("stopping %s took %v", id, d.Round(time.Millisecond))
		}
	})
	select {
	case <-registered:
	case <-ins.exited:
		t.Fatalf("%s: App.Run returned before registering: %v", id, ins.runErr)
	case <-time.After(wait):
		t.Fatalf("%s: not registered after %v", id, wait)
	}
	c.instances = append(c.instances, ins)
	return ins
}

// listed reports whether the Discovery lists the instance id.
func (c *cluster) listed(t *testing.T, id string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	list, err := c.env.Discovery.GetService(ctx, Service)
	if err != nil {
		t.Fatalf("GetService(%q): %v", Service, err)
	}
	return slices.ContainsFunc(list, func(s *registry.ServiceInstance) bool { return s.ID == id })
}

// running returns the IDs of the instances that were neither stopped nor
// crashed.
func (c *cluster) running() []string {
	var ids []string
	for _, ins := range c.instances {
		if !ins.lis.isKilled() && !ins.stopped() {
			ids = append(ids, ins.id)
		}
	}
	return ids
}

// stop stops the App and waits for Run. A crashed instance may fail to
// deregister (its registrar is gone); that is not an error.
func (ins *instance) stop() error {
	ins.stopOnce.Do(func() {
		_ = ins.app.Stop()
		select {
		case <-ins.exited:
			if !ins.lis.isKilled() {
				ins.stopErr = ins.runErr
			}
		case <-time.After(2 * wait):
			ins.stopErr = fmt.Errorf("App.Run did not return %v after App.Stop", 2*wait)
		}
	})
	return ins.stopErr
}

func (ins *instance) stopped() bool {
	select {
	case <-ins.exited:
		return true
	default:
		return false
	}
}

// echo answers UnaryCall with its instance ID as the server ID.
type echo struct {
	testpb.UnimplementedTestServiceServer
	id string
}

func (e echo) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{ServerId: e.id}, nil
}

// killableListener is a listener whose kill makes the server look like a
// crashed process: the port refuses connections and every accepted
// connection is reset, with no GOAWAY and no drain. The gRPC server keeps
// running as a zombie, blocked in Accept, until it is stopped.
type killableListener struct {
	net.Listener
	closed    chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	killed bool
	conns  map[net.Conn]struct{}
}

func newKillableListener(ln net.Listener) *killableListener {
	return &killableListener{Listener: ln, closed: make(chan struct{}), conns: make(map[net.Conn]struct{})}
}

func (l *killableListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		l.mu.Lock()
		killed := l.killed
		if err == nil && !killed {
			l.conns[c] = struct{}{}
		}
		l.mu.Unlock()
		switch {
		case killed && err == nil:
			reset(c)
			continue
		case killed:
			<-l.closed
			return nil, net.ErrClosed
		case err != nil:
			return nil, err
		}
		return &trackedConn{Conn: c, l: l}, nil
	}
}

func (l *killableListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	err := l.Listener.Close()
	if errors.Is(err, net.ErrClosed) && l.isKilled() {
		return nil
	}
	return err
}

// kill closes the port and resets every connection.
func (l *killableListener) kill() {
	l.mu.Lock()
	l.killed = true
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	_ = l.Listener.Close()
	for c := range conns {
		reset(c)
	}
}

func (l *killableListener) isKilled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.killed
}

func (l *killableListener) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// reset closes c with a TCP reset, as the kernel does for a dead process
// with unread data.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

type trackedConn struct {
	net.Conn
	l *killableListener
}

func (c *trackedConn) Close() error {
	c.l.forget(c.Conn)
	return c.Conn.Close()
}

// startLoad dials discovery:///echo and calls it from workers goroutines
// until the test ends.
func (c *cluster) startLoad() *load {
	t := c.t
	t.Helper()
	conn, err := grpc.DialInsecure(context.Background(),
		grpc.WithEndpoint("discovery:///"+Service),
		grpc.WithDiscovery(c.env.Discovery),
		grpc.WithLogger(c.logger),
	)
	if err != nil {
		t.Fatalf("dial discovery:///%s: %v", Service, err)
	}
	l := &load{
		client: testpb.NewTestServiceClient(conn),
		stop:   make(chan struct{}),
		first:  make(map[string]time.Time),
	}
	l.reset()
	deadline := time.Now().Add(maxLoad)
	for range workers {
		l.wg.Add(1)
		go l.work(deadline)
	}
	t.Cleanup(func() {
		close(l.stop)
		l.wg.Wait()
		_ = conn.Close()
	})
	return l
}

// load is the client's traffic and what became of it.
type load struct {
	client testpb.TestServiceClient
	stop   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	calls []call               // successful calls since the last reset
	fails []failure            // failed calls since the last reset
	first map[string]time.Time // first successful call per instance, ever
}

type call struct {
	at time.Time
	id string
}

type failure struct {
	at  time.Time
	err error
}

// work calls the service until the load stops or deadline passes.
func (l *load) work(deadline time.Time) {
	defer l.wg.Done()
	t := time.NewTimer(pause)
	defer t.Stop()
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		resp, err := l.client.UnaryCall(ctx, &testpb.SimpleRequest{})
		cancel()
		now := time.Now()
		l.mu.Lock()
		if err != nil {
			l.fails = append(l.fails, failure{now, err})
		} else {
			id := resp.GetServerId()
			l.calls = append(l.calls, call{now, id})
			if _, ok := l.first[id]; !ok {
				l.first[id] = now
			}
		}
		l.mu.Unlock()
		t.Reset(pause)
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
	}
}

// reset forgets the calls made so far.
func (l *load) reset() {
	l.mu.Lock()
	l.calls, l.fails = nil, nil
	l.mu.Unlock()
}

// mark returns a position in the successful calls, for since.
func (l *load) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// since returns the number of successful calls after mark, and their
// count per instance.
func (l *load) since(mark int) (int, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	per := make(map[string]int)
	for _, c := range l.calls[mark:] {
		per[c.id]++
	}
	return len(l.calls) - mark, per
}

// served returns the successful calls per instance since the last reset.
func (l *load) served() map[string]int {
	_, per := l.since(0)
	return per
}

// failures returns the failed calls since the last reset, oldest first.
func (l *load) failures() []failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.fails)
}

// firstServed returns when id first served a call, or the zero time.
func (l *load) firstServed(id string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first[id]
}
