package grpc_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/filter"
	"github.com/zelos-go/zelos/selector/roundrobin"
	"github.com/zelos-go/zelos/transport/grpc"
)

// countingListener counts the connections it accepted that are still open.
type countingListener struct {
	net.Listener
	open atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countingConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// instance is one registered test server.
type instance struct {
	svc  *testService
	srv  *grpc.Server
	lis  *countingListener
	ins  *registry.ServiceInstance
	done chan error
}

func startInstance(t *testing.T, r registry.Registrar, name, version string) *instance {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{svc: newTestService(name), lis: &countingListener{Listener: l}, done: make(chan error, 1)}
	in.srv = grpc.NewServer(grpc.Listener(in.lis), grpc.Logger(quiet))
	testpb.RegisterTestServiceServer(in.srv, in.svc)
	ep, err := in.srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	go func() { in.done <- in.srv.Start(context.Background()) }()
	in.ins = &registry.ServiceInstance{
		ID: name, Name: "echo.service", Version: version,
		// Only the grpc endpoint is used.
		Endpoints: []string{"http://127.0.0.1:1", ep.String()},
	}
	if err := r.Register(context.Background(), in.ins); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.stop(t) })
	return in
}

func (in *instance) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.srv.Stop(ctx); err != nil {
		t.Errorf("Stop %s: %v", in.svc.name, err)
	}
	if err := <-in.done; err != nil {
		t.Errorf("Start %s: %v", in.svc.name, err)
	}
	in.done <- nil // a second stop (cleanup) does not block
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dialDiscovery(t *testing.T, opts ...grpc.ClientOption) testpb.TestServiceClient {
	t.Helper()
	opts = append([]grpc.ClientOption{grpc.WithEndpoint("discovery:///echo.service"), grpc.WithLogger(quiet)}, opts...)
	cc, err := grpc.DialInsecure(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

func TestDiscoveryBalancesAndFollowsTheRegistry(t *testing.T) {
	r := registry.NewInMemory()
	s := []*instance{startInstance(t, r, "s1", "v1"), startInstance(t, r, "s2", "v1"), startInstance(t, r, "s3", "v1")}
	sl := selector.NewSelector(selector.Balancer(roundrobin.Name))
	client := dialDiscovery(t, grpc.WithDiscovery(r), grpc.WithSelector(sl))

	call := func(ctx context.Context) error {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload("name")}, ggrpc.WaitForReady(true))
		return err
	}
	ctx := testCtx(t)
	eventually(t, 10*time.Second, "all three instances to get calls", func() bool {
		if err := call(ctx); err != nil {
			t.Fatal(err)
		}
		return s[0].svc.count() > 0 && s[1].svc.count() > 0 && s[2].svc.count() > 0
	})

	// Keep calling from several goroutines while instances come and go.
	var failures, calls atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if err := call(ctx); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}

	// Deregister first, then stop gracefully: no call may fail, and the
	// client closes its connection to the instance.
	if err := r.Deregister(context.Background(), s[0].ins); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the client to close its connection to s1", func() bool { return s[0].lis.open.Load() == 0 })
	before := s[0].svc.count()
	s[0].stop(t)

	// A new instance takes traffic quickly.
	s4 := startInstance(t, r, "s4", "v1")
	start := time.Now()
	eventually(t, 10*time.Second, "s4 to get calls", func() bool { return s4.svc.count() > 0 })
	t.Logf("s4 took traffic %v after registering", time.Since(start))
	if d := time.Since(start); d > time.Second {
		t.Logf("note: s4 took %v (> 1s) on this machine", d)
	}
	n := calls.Load()
	eventually(t, 10*time.Second, "more calls", func() bool { return calls.Load() > n+20 })
	close(stop)
	wg.Wait()

	if f := failures.Load(); f > 0 {
		t.Errorf("%d of %d calls failed during the changes; first: %v", f, calls.Load(), firstErr.Load())
	}
	if got := s[0].svc.count(); got != before {
		t.Errorf("s1 got %d calls after it was deregistered", got-before)
	}
}

func TestDiscoveryDefaultSelectorAndFilters(t *testing.T) {
	r := registry.NewInMemory()
	v1 := startInstance(t, r, "a", "v1")
	v2 := startInstance(t, r, "b", "v2")
	ctx := testCtx(t)

	// WithDiscovery alone: the default (p2c) selector.
	client := dialDiscovery(t, grpc.WithDiscovery(r))
	eventually(t, 10*time.Second, "both instances to get calls", func() bool {
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); err != nil {
			t.Fatal(err)
		}
		return v1.svc.count() > 0 && v2.svc.count() > 0
	})

	// A connection's node filter.
	client = dialDiscovery(t, grpc.WithDiscovery(r), grpc.WithNodeFilter(filter.Version("v2")))
	n1 := v1.svc.count()
	for range 20 {
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); err != nil {
			t.Fatal(err)
		}
	}
	if v1.svc.count() != n1 {
		t.Error("the v2 filter let calls through to v1")
	}

	// A filter of the call's context leaving no node: 503 NO_AVAILABLE_NODE.
	none := selector.NewFilterContext(ctx, filter.Version("v3"))
	_, err := client.UnaryCall(none, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true))
	if !errors.IsServiceUnavailable(err) || errors.Reason(err) != selector.ReasonNoAvailableNode {
		t.Errorf("error with no matching node = %v, want 503 %s", err, selector.ReasonNoAvailableNode)
	}

	// The registry of the selector serves when WithDiscovery is not given.
	client = dialDiscovery(t, grpc.WithSelector(selector.NewSelector(selector.Registry(r))))
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); err != nil {
		t.Errorf("call through the selector's registry: %v", err)
	}
}

func TestDiscoveryNoInstance(t *testing.T) {
	r := registry.NewInMemory()
	client := dialDiscovery(t, grpc.WithDiscovery(r))
	_, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
	if !errors.IsServiceUnavailable(err) || errors.Reason(err) != selector.ReasonNoAvailableNode {
		t.Errorf("error with no instance = %v, want 503 %s", err, selector.ReasonNoAvailableNode)
	}

	// The first instance to register is used.
	in := startInstance(t, r, "late", "v1")
	eventually(t, 10*time.Second, "the late instance to serve", func() bool {
		_, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
		return err == nil
	})
	if in.svc.count() == 0 {
		t.Error("the late instance got no call")
	}
}

// failingDiscovery fails every Watch.
type failingDiscovery struct{}

func (failingDiscovery) GetService(context.Context, string) ([]*registry.ServiceInstance, error) {
	return nil, errors.New(500, "DOWN", "registry down")
}

func (failingDiscovery) Watch(context.Context, string) (registry.Watcher, error) {
	return nil, errors.New(500, "DOWN", "registry down")
}

func TestDiscoveryWatchFailure(t *testing.T) {
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint("discovery:///echo.service"),
		grpc.WithDiscovery(failingDiscovery{}), grpc.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	_, err = testpb.NewTestServiceClient(cc).UnaryCall(testCtx(t), &testpb.SimpleRequest{})
	if err == nil {
		t.Fatal("call with a failing registry succeeded")
	}
	if !errors.IsServiceUnavailable(err) {
		t.Errorf("error = %v, want 503", err)
	}
}

// TestStopWithConnectedClient checks that a server stops at once although a
// discovery client keeps health-check streams open to it, and that the
// client moves its calls to the other instance.
func TestStopWithConnectedClient(t *testing.T) {
	r := registry.NewInMemory()
	a := startInstance(t, r, "a", "v1")
	b := startInstance(t, r, "b", "v1")
	client := dialDiscovery(t, grpc.WithDiscovery(r))
	ctx := testCtx(t)
	eventually(t, 10*time.Second, "both", func() bool {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true))
		if err != nil {
			t.Fatal(err)
		}
		return a.svc.count() > 0 && b.svc.count() > 0
	})
	start := time.Now()
	a.stop(t) // without deregistering first
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
	for range 50 {
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Errorf("call after stop: %v", err)
		}
	}
}

// TestDiscoveryNoInstanceErrorIsCurrent checks that once the last instance
// is deregistered, calls fail naming the service and not with the connection
// error of the instance that went away.
func TestDiscoveryNoInstanceErrorIsCurrent(t *testing.T) {
	r := registry.NewInMemory()
	a := startInstance(t, r, "a", "v1")
	client := dialDiscovery(t, grpc.WithDiscovery(r))
	ctx := testCtx(t)
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}

	// The instance stops without deregistering: calls fail with its
	// connection (or health) error.
	a.stop(t)
	eventually(t, 10*time.Second, "calls to fail", func() bool {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
		return err != nil
	})

	if err := r.Deregister(context.Background(), a.ins); err != nil {
		t.Fatal(err)
	}
	const want = `no instance of service "echo.service" is available`
	var err error
	eventually(t, 10*time.Second, "the error to name the service only", func() bool {
		_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{})
		return errors.FromError(err).Message == want
	})
	if !errors.IsServiceUnavailable(err) || errors.Reason(err) != selector.ReasonNoAvailableNode {
		t.Errorf("error = %v, want 503 %s", err, selector.ReasonNoAvailableNode)
	}
}

func TestDiscoveryEndpointForms(t *testing.T) {
	r := registry.NewInMemory()
	startInstance(t, r, "a", "v1")
	ctx := testCtx(t)
	for _, ep := range []string{"discovery:///echo.service", "discovery://default/echo.service", "discovery://echo.service"} {
		client := dialDiscovery(t, grpc.WithDiscovery(r), grpc.WithEndpoint(ep))
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true)); err != nil {
			t.Errorf("endpoint %s: %v", ep, err)
		}
	}
	if _, err := grpc.DialInsecure(ctx, grpc.WithEndpoint("discovery:///"), grpc.WithDiscovery(r)); err == nil {
		t.Error("an endpoint naming no service was accepted")
	}
}

// breakingDiscovery is an InMemory whose first watcher fails after its
// first list, as a watcher broken by a registry outage does.
type breakingDiscovery struct {
	*registry.InMemory
	watches atomic.Int64
}

func (d *breakingDiscovery) Watch(ctx context.Context, name string) (registry.Watcher, error) {
	w, err := d.InMemory.Watch(ctx, name)
	if err != nil || d.watches.Add(1) > 1 {
		return w, err
	}
	return &breakingWatcher{Watcher: w}, nil
}

type breakingWatcher struct {
	registry.Watcher
	calls int
}

func (w *breakingWatcher) Next() ([]*registry.ServiceInstance, error) {
	if w.calls++; w.calls > 1 {
		return nil, errors.New(503, "LOST", "connection to the registry lost")
	}
	return w.Watcher.Next()
}

// TestDiscoveryWatchesAgain: after a watch fails, the resolver watches
// again and sees instances registered since.
func TestDiscoveryWatchesAgain(t *testing.T) {
	d := &breakingDiscovery{InMemory: registry.NewInMemory()}
	client := dialDiscovery(t, grpc.WithDiscovery(d))
	// The connection resolves on its first call, which finds no instance.
	_, _ = client.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
	eventually(t, 10*time.Second, "a second watch", func() bool { return d.watches.Load() >= 2 })
	in := startInstance(t, d, "after-outage", "v1")
	eventually(t, 10*time.Second, "the instance registered after the failed watch to serve", func() bool {
		_, err := client.UnaryCall(testCtx(t), &testpb.SimpleRequest{})
		return err == nil
	})
	if in.svc.count() == 0 {
		t.Error("the instance got no call")
	}
}
