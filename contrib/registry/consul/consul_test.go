package consul_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/contrib/registry/consul"
	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is how long "eventually" checks wait; generous for loaded machines.
const wait = 10 * time.Second

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
}

// nextAsync calls w.Next in a goroutine.
func nextAsync(w registry.Watcher) <-chan result {
	ch := make(chan result, 1)
	go func() {
		l, err := w.Next()
		ch <- result{l, err}
	}()
	return ch
}

// next calls w.Next so that a test never hangs on a broken watcher.
func next(t *testing.T, w registry.Watcher) ([]*registry.ServiceInstance, error) {
	t.Helper()
	ch := nextAsync(w)
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

// nextIDs calls Next until the list has the given IDs.
func nextIDs(t *testing.T, w registry.Watcher, want string) []*registry.ServiceInstance {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		list, err := next(t, w)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if got := ids(list); got == want {
			return list
		} else if time.Now().After(deadline) {
			t.Fatalf("Next = [%s], want [%s]", got, want)
		}
	}
}

func TestRegisterWatchDeregister(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithTTL(2*time.Second))

	a, b := instance("greeter", "a"), instance("greeter", "b")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	reg, ok := f.registration("a")
	if !ok {
		t.Fatal("instance a is not registered with the agent")
	}
	if reg.Name != "greeter" || reg.Address != "127.0.0.1" || reg.Port != 9000 ||
		reg.Meta["zelos_version"] != "v1.2.3" || reg.Meta["zone"] != "a" ||
		reg.Meta["zelos_endpoints"] != "grpc://127.0.0.1:9000,http://127.0.0.1:8000" ||
		reg.TaggedAddresses["http"].Port != 8000 || reg.TaggedAddresses["grpc"].Port != 9000 {
		t.Fatalf("registration = %+v", reg)
	}
	if len(reg.Checks) != 1 || reg.Checks[0].TTL != "2s" || reg.Checks[0].Status != "passing" ||
		reg.Checks[0].DeregisterCriticalServiceAfter != "10m0s" {
		t.Fatalf("checks = %+v, want one passing TTL check of 2s", reg.Checks)
	}

	w, err := r.Watch(ctx, "greeter")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	list, err := next(t, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "a" || list[0].Name != "greeter" || list[0].Version != "v1.2.3" ||
		list[0].Metadata["weight"] != "10" || len(list[0].Metadata) != 2 || !slices.Equal(list[0].Endpoints, a.Endpoints) {
		t.Fatalf("first Next = %+v, want instance a", list)
	}

	if err := r.Register(ctx, instance("other", "x")); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(ctx, b); err != nil {
		t.Fatal(err)
	}
	nextIDs(t, w, "a,b")
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
	nextIDs(t, w, "b")
	got, err := r.GetService(ctx, "greeter")
	if err != nil || ids(got) != "b" {
		t.Fatalf("GetService = [%s], %v; want [b]", ids(got), err)
	}
	if err := r.Deregister(ctx, b); err != nil {
		t.Fatal(err)
	}
	nextIDs(t, w, "")
	if err := r.Deregister(ctx, instance("other", "x")); err != nil {
		t.Fatal(err)
	}
	// Deregistering an unknown instance is not an error.
	if err := r.Deregister(ctx, instance("greeter", "zzz")); err != nil {
		t.Fatal(err)
	}
	w.Stop()
	if _, err := w.Next(); !errors.Is(err, registry.ErrWatcherStopped) {
		t.Fatalf("Next after Stop = %v, want ErrWatcherStopped", err)
	}
}

// A blocking query answers as soon as the service changes, long before its
// wait ends, and Stop cancels it.
func TestBlockingQueryWakesPromptly(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithWatchWait(time.Minute))
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if list, err := next(t, w); err != nil || len(list) != 0 {
		t.Fatalf("first Next = %v, %v; want empty", list, err)
	}
	blocked := func() bool { // a query with an index is waiting in the fake
		q := f.queryIndexes()
		return len(q) >= 2 && q[len(q)-1] > 0
	}
	ch := nextAsync(w)
	waitFor(t, "a blocking query", blocked)
	a := instance("svc", "a")
	start := time.Now()
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-ch:
		took := time.Since(start)
		t.Logf("blocking query answered %v after the change (wait is 1m)", took)
		if res.err != nil || ids(res.list) != "a" {
			t.Fatalf("Next = [%s], %v; want [a]", ids(res.list), res.err)
		}
	case <-time.After(wait):
		t.Fatal("blocking query did not answer the change")
	}

	// Stop ends a blocked Next at once.
	n := len(f.queryIndexes())
	ch = nextAsync(w)
	waitFor(t, "a blocking query", func() bool { return len(f.queryIndexes()) > n })
	w.Stop()
	select {
	case res := <-ch:
		if !errors.Is(res.err, registry.ErrWatcherStopped) {
			t.Fatalf("Next after Stop = %v, want ErrWatcherStopped", res.err)
		}
	case <-time.After(wait):
		t.Fatal("Stop did not end a blocked Next")
	}
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// An instance whose process stops updating its TTL check goes critical and
// drops out; a live one stays passing across several TTLs.
func TestTTLExpiredInstanceDropsOut(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	const ttl = time.Second
	crashCtx, crash := context.WithCancel(ctx)
	defer crash()
	rA := consul.New(f.client(t), consul.WithTTL(ttl), consul.WithContext(crashCtx))
	rB := consul.New(f.client(t), consul.WithTTL(ttl))
	a, b := instance("svc", "a"), instance("svc", "b")
	if err := rA.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := rB.Register(ctx, b); err != nil {
		t.Fatal(err)
	}
	w, err := rB.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	nextIDs(t, w, "a,b")

	// The heartbeats keep both passing for longer than two TTLs.
	time.Sleep(2*ttl + ttl/2)
	if got, err := rB.GetService(ctx, "svc"); err != nil || ids(got) != "a,b" {
		t.Fatalf("GetService after 2.5 TTLs = [%s], %v; want [a,b]", ids(got), err)
	}

	crash() // a's heartbeat stops; it is not deregistered
	start := time.Now()
	nextIDs(t, w, "b")
	took := time.Since(start)
	t.Logf("instance without heartbeats dropped out after %v (TTL %v)", took, ttl)
	if took > ttl+3*time.Second {
		t.Errorf("dropped out after %v, want about the TTL of %v", took, ttl)
	}
	if _, ok := f.registration("a"); !ok {
		t.Error("a was deregistered; want it only critical")
	}
	for _, in := range []*registry.ServiceInstance{a, b} {
		if err := rB.Deregister(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
}

// An agent that lost the service (it restarted without state) gets it again
// from the next heartbeat.
func TestRegisterAgainWhenAgentForgets(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithTTL(600*time.Millisecond))
	a := instance("svc", "a")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	nextIDs(t, w, "a")
	f.forget("a")
	nextIDs(t, w, "")
	nextIDs(t, w, "a")
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// When Consul's index goes backwards the watcher starts over from index 0.
func TestWatchIndexReset(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithHealthCheck(false), consul.WithWatchWait(300*time.Millisecond))
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	nextIDs(t, w, "")
	for _, id := range []string{"a", "b"} {
		if err := r.Register(ctx, instance("svc", id)); err != nil {
			t.Fatal(err)
		}
	}
	nextIDs(t, w, "a,b")

	f.setIndex(3) // far below the watcher's index
	n := len(f.queryIndexes())
	if err := r.Register(ctx, instance("svc", "c")); err != nil {
		t.Fatal(err)
	}
	nextIDs(t, w, "a,b,c")
	if err := r.Register(ctx, instance("svc", "d")); err != nil {
		t.Fatal(err)
	}
	nextIDs(t, w, "a,b,c,d")
	after := f.queryIndexes()[n:]
	if !slices.Contains(after, 0) {
		t.Fatalf("queries after the index went back used indexes %v; want one from 0", after)
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		if err := r.Deregister(ctx, instance("svc", id)); err != nil {
			t.Fatal(err)
		}
	}
}

// While queries fail the watcher reports nothing, then resumes.
func TestWatchKeepsLastListOnErrors(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithHealthCheck(false), consul.WithWatchWait(200*time.Millisecond))
	a := instance("svc", "a")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	nextIDs(t, w, "a")

	f.failing.Store(true)
	if _, err := r.GetService(ctx, "svc"); err == nil || !strings.Contains(err.Error(), "No cluster leader") {
		t.Fatalf("GetService while failing = %v, want the server's error", err)
	}
	ch := nextAsync(w)
	select {
	case res := <-ch:
		t.Fatalf("Next while Consul fails = [%s], %v; want it to keep waiting", ids(res.list), res.err)
	case <-time.After(time.Second):
	}
	b := instance("svc", "b")
	if err := r.Register(ctx, b); err != nil {
		t.Fatal(err)
	}
	f.failing.Store(false)
	select {
	case res := <-ch:
		if res.err != nil || ids(res.list) != "a,b" {
			t.Fatalf("Next after recovery = [%s], %v; want [a,b]", ids(res.list), res.err)
		}
	case <-time.After(wait):
		t.Fatal("watcher did not resume")
	}
	for _, in := range []*registry.ServiceInstance{a, b} {
		if err := r.Deregister(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHTTPCheck(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	var healthy atomic.Bool
	healthy.Store(true)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer app.Close()

	r := consul.New(f.client(t), consul.WithTTL(0), consul.WithHTTPCheck("healthz", 100*time.Millisecond))
	a := instance("svc", "a")
	a.Endpoints = []string{"grpc://127.0.0.1:9000", app.URL}
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	reg, _ := f.registration("a")
	if len(reg.Checks) != 1 || reg.Checks[0].HTTP != app.URL+"/healthz" || reg.Checks[0].Interval != "100ms" {
		t.Fatalf("checks = %+v, want one HTTP check of %s/healthz", reg.Checks, app.URL)
	}
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	nextIDs(t, w, "a")
	healthy.Store(false)
	nextIDs(t, w, "")
	healthy.Store(true)
	nextIDs(t, w, "a")
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}

	// An HTTP check needs an HTTP endpoint.
	err = r.Register(ctx, &registry.ServiceInstance{ID: "g", Name: "svc", Endpoints: []string{"grpc://127.0.0.1:9000"}})
	if err == nil || !strings.Contains(err.Error(), "HTTP check") {
		t.Fatalf("Register without an HTTP endpoint = %v, want an HTTP check error", err)
	}
}

func TestWithoutHealthCheck(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithHealthCheck(false))
	a := instance("svc", "a")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	if reg, _ := f.registration("a"); len(reg.Checks) != 0 || reg.Check != nil {
		t.Fatalf("checks = %+v, want none", reg.Checks)
	}
	if got, err := r.GetService(ctx, "svc"); err != nil || ids(got) != "a" {
		t.Fatalf("GetService = [%s], %v; want [a]", ids(got), err)
	}
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t))
	bad := []*registry.ServiceInstance{
		nil,
		{ID: "a"},
		{Name: "n"},
		{ID: "a", Name: "n", Metadata: map[string]string{"zelos_version": "x"}},
		{ID: "a", Name: "n", Metadata: map[string]string{"bad key": "x"}},
		{ID: "a", Name: "n", Endpoints: []string{"127.0.0.1:80"}},
		{ID: "a", Name: "n", Endpoints: []string{"http://a,b:80"}},
	}
	for _, in := range bad {
		if err := r.Register(ctx, in); err == nil {
			t.Errorf("Register(%+v) succeeded, want error", in)
		}
	}
	if err := r.Deregister(ctx, nil); err == nil {
		t.Error("Deregister(nil) succeeded")
	}

	other := consul.New(f.client(t), consul.WithDatacenter("dc2"))
	if _, err := other.GetService(ctx, "svc"); err == nil || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Fatalf("GetService in dc2 = %v, want the datacenter error", err)
	}
	w, _ := other.Watch(ctx, "svc")
	if _, err := w.Next(); err == nil || !strings.Contains(err.Error(), `watch "svc"`) {
		t.Fatalf("first Next in dc2 = %v, want an error naming the service", err)
	}
	w.Stop()

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Watch(cctx, "svc"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch with a canceled context = %v", err)
	}
	f.close()
	err := r.Register(ctx, instance("svc", "a"))
	if err == nil || !strings.Contains(err.Error(), `register "svc" (id "a")`) {
		t.Fatalf("Register with Consul down = %v, want an error naming the instance", err)
	}
}

// The service's Address and Port are the first endpoint's, even when it has
// no host (Consul then uses the agent's address).
func TestAddressIsFirstEndpoint(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithHealthCheck(false))
	a := &registry.ServiceInstance{ID: "a", Name: "svc", Endpoints: []string{"grpc://:9000", "http://10.0.0.1:8000"}}
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	if reg, _ := f.registration("a"); reg.Address != "" || reg.Port != 9000 {
		t.Fatalf("Address, Port = %q, %d; want \"\", 9000 from the first endpoint", reg.Address, reg.Port)
	}
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// A TTL too short to divide in three must not panic the heartbeat.
func TestTinyTTL(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	r := consul.New(f.client(t), consul.WithTTL(time.Nanosecond))
	a := instance("svc", "a")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the heartbeat tick a few times
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// A Deregister that races a Register of the same instance leaves either the
// instance registered with its heartbeat, or neither: never a heartbeat that
// brings a deregistered instance back.
func TestRegisterDeregisterRace(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	const ttl = 150 * time.Millisecond
	r := consul.New(f.client(t), consul.WithTTL(ttl))
	var gone []string
	for i := range 20 {
		in := instance("svc", "race-"+strconv.Itoa(i))
		done := make(chan error, 1)
		go func() { done <- r.Register(ctx, in) }()
		if err := r.Deregister(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, ok := f.registration(in.ID); !ok {
			gone = append(gone, in.ID)
		}
	}
	time.Sleep(2 * ttl) // heartbeats tick every ttl/3
	for _, id := range gone {
		if _, ok := f.registration(id); ok {
			t.Errorf("instance %s came back after Deregister", id)
		}
	}
	for i := range 20 {
		if err := r.Deregister(ctx, instance("svc", "race-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
}

// Register and Deregister honour their context while another call holds
// the registry.
func TestRegisterHonoursContext(t *testing.T) {
	release := make(chan struct{})
	var entered sync.Once
	in := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		entered.Do(func() { close(in) })
		<-release
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer slow.Close()
	cfg := api.DefaultConfig()
	cfg.Address = slow.Listener.Addr().String()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := consul.New(c)
	first := make(chan error, 1)
	go func() { first <- r.Register(context.Background(), instance("svc", "a")) }()
	<-in
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Deregister(ctx, instance("svc", "a")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Deregister while Register is running = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := <-first; err == nil {
		t.Error("Register against a failing agent succeeded")
	}
}
