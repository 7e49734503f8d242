package etcd_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is how long "eventually" checks wait; generous for loaded machines.
const wait = 15 * time.Second

// ttl is the lease TTL of the tests; above the 0.75s minimum that the test
// server's 500ms election timeout gives.
const ttl = 2 * time.Second

// server is a real single-member etcd, embedded in the test process.
type server struct {
	cfg      *embed.Config
	e        *embed.Etcd
	endpoint string
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer starts etcd on random loopback ports and a fresh data
// directory; it is stopped when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	s := newServer(t)
	s.start(t)
	return s
}

// newServer configures etcd on random loopback ports and a fresh data
// directory without starting it, as an etcd that is down; once started it
// is stopped when the test ends.
func newServer(t *testing.T) *server {
	t.Helper()
	client, peer := freePort(t), freePort(t)
	cu := url.URL{Scheme: "http", Host: client}
	pu := url.URL{Scheme: "http", Host: peer}
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = t.TempDir()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 50, 500
	cfg.LogLevel = "fatal"
	s := &server{cfg: cfg, endpoint: cu.String()}
	t.Cleanup(s.stop)
	return s
}

func (s *server) start(t *testing.T) {
	t.Helper()
	e, err := embed.StartEtcd(s.cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(wait):
		e.Close()
		t.Fatal("etcd did not become ready")
	}
	s.e = e
}

func (s *server) stop() {
	if s.e != nil {
		s.e.Close()
		s.e = nil
	}
}

// restart starts etcd again on the same data directory and ports.
func (s *server) restart(t *testing.T) {
	t.Helper()
	s.cfg.ClusterState = embed.ClusterStateFlagExisting
	s.start(t)
}

func newClient(t *testing.T, s *server) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{s.endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		// Reconnect quickly after the restart test brings etcd back; gRPC's
		// default backoff grows to minutes.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testLogger records the messages logged to it.
type testLogger struct {
	mu   sync.Mutex
	msgs []string
}

func (l *testLogger) Log(_ log.Level, keyvals ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] == "msg" {
			l.msgs = append(l.msgs, fmt.Sprint(keyvals[i+1]))
		}
	}
	return nil
}

func (l *testLogger) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds, failing the test after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func instance(name, id string) *registry.ServiceInstance {
	return &registry.ServiceInstance{
		ID:        id,
		Name:      name,
		Version:   "v1.2.3",
		Metadata:  map[string]string{"zone": "a", "weight": "10"},
		Endpoints: []string{"grpc://127.0.0.1:9000", "http://127.0.0.1:8000"},
	}
}

func ids(list []*registry.ServiceInstance) string {
	s := make([]string, len(list))
	for i, in := range list {
		s[i] = in.ID
	}
	return strings.Join(s, ",")
}

type result struct {
	list []*registry.ServiceInstance
	err  error
	at   time.Time
}

// next calls w.Next in a goroutine so a test never hangs on a broken watcher.
func next(t *testing.T, w registry.Watcher) ([]*registry.ServiceInstance, error) {
	t.Helper()
	ch := make(chan result, 1)
	go func() {
		l, err := w.Next()
		ch <- result{l, err, time.Now()}
	}()
	select {
	case r := <-ch:
		return r.list, r.err
	case <-time.After(wait):
		w.Stop()
		<-ch
		t.Fatal("Next did not return")
		return nil, nil
	}
}

// nextIDs calls Next until the list has the given IDs, and fails if it
// does not within wait.
func nextIDs(t *testing.T, w registry.Watcher, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		list, err := next(t, w)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if got := ids(list); got == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("Next = [%s], want [%s]", got, want)
		}
	}
}

func TestInvalidInstances(t *testing.T) {
	s := startServer(t)
	r := etcd.New(newClient(t, s))
	ctx := context.Background()
	for _, in := range []*registry.ServiceInstance{nil, {ID: "a"}, {Name: "n"}, {Name: "a/b", ID: "c"}} {
		if err := r.Register(ctx, in); err == nil {
			t.Errorf("Register(%+v) succeeded, want error", in)
		}
		if err := r.Deregister(ctx, in); err == nil {
			t.Errorf("Deregister(%+v) succeeded, want error", in)
		}
	}
	// A Register that cannot reach etcd fails with the key in the error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := r.Register(cctx, instance("svc", "a"))
	if err == nil || !strings.Contains(err.Error(), "/microservices/svc/a") {
		t.Fatalf("Register with canceled ctx = %v, want error naming the key", err)
	}
}

// leaseOf returns the lease the key is attached to and its last revision.
func leaseOf(t *testing.T, c *clientv3.Client, key string) (clientv3.LeaseID, int64) {
	t.Helper()
	resp, err := c.Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v, %d keys", key, err, len(resp.Kvs))
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease), resp.Kvs[0].ModRevision
}

// A lease lost while the process runs is replaced by the registry.
func TestReregisterAfterLeaseLost(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := newClient(t, s)
	r := etcd.New(newClient(t, s), etcd.RegisterTTL(ttl))
	a := instance("svc", "a")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	defer r.Deregister(ctx, a)
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	nextIDs(t, w, "a")

	old, _ := leaseOf(t, admin, "/microservices/svc/a")
	if _, err := admin.Revoke(ctx, old); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	nextIDs(t, w, "")  // the revoke deleted the key
	nextIDs(t, w, "a") // and the registry wrote it again
	t.Logf("registered again %v after the lease was revoked", time.Since(start))
	if now, _ := leaseOf(t, admin, "/microservices/svc/a"); now == old {
		t.Fatalf("key still on revoked lease %x", old)
	}
}

// etcd goes down and comes back on the same data and ports: watchers keep
// the last list meanwhile (Next delivers nothing, in particular no empty
// list), and instances are registered again without a restart of their
// process.
func TestEtcdRestart(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	rc := newClient(t, s)
	logs, qlogs := new(testLogger), new(testLogger)
	r := etcd.New(rc, etcd.RegisterTTL(ttl), etcd.Logger(logs))
	a, b := instance("svc", "a"), instance("svc", "b")
	for _, in := range []*registry.ServiceInstance{a, b} {
		if err := r.Register(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// A registry that gives up after one failed attempt: its instance is
	// gone once etcd is back and the lease expires.
	quitter := etcd.New(newClient(t, s), etcd.RegisterTTL(ttl), etcd.MaxRetry(1), etcd.Logger(qlogs))
	q := instance("quitter", "q")
	if err := quitter.Register(ctx, q); err != nil {
		t.Fatal(err)
	}
	wr := etcd.New(newClient(t, s))
	w, err := wr.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	list, err := next(t, w)
	if err != nil || ids(list) != "a,b" {
		t.Fatalf("first Next = [%s], %v", ids(list), err)
	}
	oldLease, oldRev := leaseOf(t, rc, "/microservices/svc/a")

	// Everything Next delivers from now on.
	results := make(chan result, 100)
	go func() {
		defer close(results)
		for {
			l, err := w.Next()
			results <- result{l, err, time.Now()}
			if err != nil {
				return
			}
		}
	}()

	// Close stops accepting connections at once, then gives open streams
	// (watches, keep-alives) etcd's request timeout, about 6s, to end.
	start := time.Now()
	s.stop()
	down := time.Now()
	t.Logf("etcd stopped in %v", down.Sub(start).Round(time.Millisecond))
	// After about the TTL without keep-alives the client gives the leases up;
	// the registry then tries to write the instances again, and fails while
	// etcd is down.
	waitFor(t, "failed attempts to register again", func() bool {
		return logs.count("etcd: register again failed") >= 2 && qlogs.count("etcd: giving up registering again") == 1
	})
	t.Logf("registries noticed the outage after %v", time.Since(down).Round(time.Millisecond))
	gctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = wr.GetService(gctx, "svc")
	cancel()
	t.Logf("GetService while etcd is down: %v", err)
	s.restart(t)
	up := time.Now()

	// The registry noticed the lost keep-alives and wrote the instances
	// again: under their old lease if etcd kept it, or a new one.
	deadline := time.Now().Add(wait)
	for {
		got, err := wr.GetService(ctx, "svc")
		if err == nil && ids(got) == "a,b" {
			if _, rev := leaseOf(t, rc, "/microservices/svc/a"); rev > oldRev {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart GetService = [%s], %v; want a,b written again", ids(got), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lease, _ := leaseOf(t, rc, "/microservices/svc/a")
	t.Logf("instances written again %v after etcd came back (lease kept: %v)", time.Since(up), lease == oldLease)

	waitGone := time.Now().Add(wait)
	for {
		got, err := wr.GetService(ctx, "quitter")
		if err == nil && len(got) == 0 {
			break
		}
		if time.Now().After(waitGone) {
			t.Fatalf("GetService(quitter) = [%s], %v; want it gone after MaxRetry(1) gave up", ids(got), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := quitter.Deregister(ctx, q); err != nil {
		t.Fatal(err)
	}

	// The watcher works again: it reports a new instance.
	c := instance("svc", "c")
	if err := r.Register(ctx, c); err != nil {
		t.Fatal(err)
	}
	var seen []result
	for done := false; !done; {
		select {
		case res := <-results:
			if res.err != nil {
				t.Fatalf("Next: %v", res.err)
			}
			seen = append(seen, res)
			done = ids(res.list) == "a,b,c"
		case <-time.After(wait):
			t.Fatalf("watcher did not report c after the restart; saw %d lists", len(seen))
		}
	}
	for _, res := range seen {
		t.Logf("Next at %+v after etcd stopped: [%s]", res.at.Sub(down).Round(time.Millisecond), ids(res.list))
		if res.at.Before(up) {
			t.Errorf("Next delivered [%s] while etcd was down; want it to keep the last list", ids(res.list))
		}
	}

	w.Stop()
	for range results {
	}
	for _, in := range []*registry.ServiceInstance{a, b, c} {
		if err := r.Deregister(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
}

// A Deregister that runs while a Register of the same instance is between
// writing the key and starting its keep-alive leaves either the key with a
// lease kept alive, or neither: never a lease kept alive for a deleted key.
func TestDeregisterDuringRegister(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := newClient(t, s)
	// The registry's client holds the answer of its first Put until release
	// is closed.
	putDone, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if strings.HasSuffix(method, "/Put") {
			once.Do(func() { close(putDone); <-release })
		}
		return err
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{s.endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(hold)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := etcd.New(c, etcd.RegisterTTL(ttl))
	a := instance("svc", "a")

	registered := make(chan error, 1)
	go func() { registered <- r.Register(ctx, a) }()
	<-putDone
	deregistered := make(chan error, 1)
	go func() { deregistered <- r.Deregister(ctx, a) }()
	var derr error
	early := false
	select {
	case derr = <-deregistered: // a Deregister that did not wait for Register
		early = true
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-registered; err != nil {
		t.Fatal(err)
	}
	if !early {
		derr = <-deregistered
	}
	if derr != nil {
		t.Fatal(derr)
	}

	keys, err := admin.Get(ctx, "/microservices/svc/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	leases, err := admin.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(leases.Leases)) != keys.Count {
		t.Errorf("%d leases for %d registered keys: a deregistered instance keeps its lease alive", len(leases.Leases), keys.Count)
	}
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}
