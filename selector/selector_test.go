package selector_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/filter"
	"github.com/zelos-go/zelos/selector/p2c"
	"github.com/zelos-go/zelos/selector/random"
	"github.com/zelos-go/zelos/selector/roundrobin"
	"github.com/zelos-go/zelos/selector/wrr"
)

var allBalancers = []string{p2c.Name, random.Name, roundrobin.Name, wrr.Name}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds "eventually" checks; generous for a loaded machine.
const wait = 5 * time.Second

func inst(id, version string, md map[string]string, endpoints ...string) *registry.ServiceInstance {
	return &registry.ServiceInstance{ID: id, Name: "svc", Version: version, Metadata: md, Endpoints: endpoints}
}

func addrs(nodes []selector.Node) string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.Scheme()+"://"+n.Address())
	}
	return strings.Join(s, " ")
}

func TestNewNode(t *testing.T) {
	n := selector.NewNode("grpc", "10.0.0.1:9000", &registry.ServiceInstance{
		Name: "svc", Version: "v2", Metadata: map[string]string{"weight": "250", "zone": "a"},
	})
	if n.Scheme() != "grpc" || n.Address() != "10.0.0.1:9000" || n.ServiceName() != "svc" ||
		n.Version() != "v2" || n.Metadata()["zone"] != "a" || n.InitialWeight() != 250 {
		t.Fatalf("NewNode = %s %s %s %s %v %d", n.Scheme(), n.Address(), n.ServiceName(), n.Version(), n.Metadata(), n.InitialWeight())
	}
	for _, w := range []string{"", "x", "0", "-5", "1.5", "2147483648"} {
		n := selector.NewNode("http", "h:1", &registry.ServiceInstance{Metadata: map[string]string{"weight": w}})
		if n.InitialWeight() != selector.DefaultWeight {
			t.Errorf("weight %q gives InitialWeight %d; want %d", w, n.InitialWeight(), selector.DefaultWeight)
		}
	}
	n = selector.NewNode("http", "h:1", nil)
	if n.InitialWeight() != selector.DefaultWeight || n.ServiceName() != "" || n.Metadata() != nil {
		t.Fatalf("NewNode without instance = %d %q %v", n.InitialWeight(), n.ServiceName(), n.Metadata())
	}
	// The node keeps its own copy of the metadata.
	md := map[string]string{"zone": "a"}
	n = selector.NewNode("http", "h:1", &registry.ServiceInstance{Metadata: md})
	md["zone"] = "b"
	if n.Metadata()["zone"] != "a" {
		t.Fatal("node shares the instance's metadata")
	}
}

func TestNodesFromInstances(t *testing.T) {
	ins := []*registry.ServiceInstance{
		inst("1", "v1", nil, "grpc://10.0.0.1:9000", "http://10.0.0.1:8000"),
		nil,
		inst("2", "v1", nil, "::bad", "http://10.0.0.2:8000", "grpc://"),
		inst("3", "v1", nil, "grpc://10.0.0.3:9000", "grpc://10.0.0.3:9001"),
		inst("4", "v1", nil),
	}
	for scheme, want := range map[string]string{
		"grpc": "grpc://10.0.0.1:9000 grpc://10.0.0.3:9000 grpc://10.0.0.3:9001",
		"http": "http://10.0.0.1:8000 http://10.0.0.2:8000",
		"":     "grpc://10.0.0.1:9000 http://10.0.0.2:8000 grpc://10.0.0.3:9000",
		"ws":   "",
	} {
		if got := addrs(selector.NodesFromInstances(scheme, ins)); got != want {
			t.Errorf("NodesFromInstances(%q) = %q; want %q", scheme, got, want)
		}
	}
}

func assertNoNode(t *testing.T, err error, service string) {
	t.Helper()
	want := "no available node"
	if service != "" {
		want += " for service " + service
	}
	e := errors.FromError(err)
	if e == nil || e.Code != 503 || e.Reason != selector.ReasonNoAvailableNode || e.Message != want {
		t.Fatalf("error = %v; want 503 %s %q", err, selector.ReasonNoAvailableNode, want)
	}
}

func TestPickerEmpty(t *testing.T) {
	ctx := context.Background()
	for _, name := range allBalancers {
		p := selector.NewSelector(selector.Balancer(name)).Build()
		_, _, err := p.Select(ctx)
		assertNoNode(t, err, "")
		p.Apply([]selector.Node{})
		_, _, err = p.Select(ctx)
		assertNoNode(t, err, "")
		p.Apply(selector.NodesFromInstances("http", []*registry.ServiceInstance{inst("1", "v1", nil, "http://h:1")}))
		if _, _, err := p.Select(ctx); err != nil {
			t.Fatalf("%s: Select = %v", name, err)
		}
		_, _, err = p.Select(ctx, selector.WithNodeFilter(filter.Version("v9")))
		assertNoNode(t, err, "svc")
	}
}

func TestPickerFilters(t *testing.T) {
	ctx := context.Background()
	nodes := selector.NodesFromInstances("http", []*registry.ServiceInstance{
		inst("1", "v1", map[string]string{"zone": "a"}, "http://10.0.0.1:80"),
		inst("2", "v2", map[string]string{"zone": "a"}, "http://10.0.0.2:80"),
		inst("3", "v2", map[string]string{"zone": "b"}, "http://10.0.0.3:80"),
		inst("4", "v2", nil, "http://10.0.0.4:80"),
	})
	// Selector filters always apply; then per-call ones; then the context's.
	sl := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.Filter(filter.Version("v2")))
	p := sl.Build()
	p.Apply(nodes)
	picked := func(ctx context.Context, opts ...selector.SelectOption) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range 12 {
			n, done, err := p.Select(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			done(ctx, selector.DoneInfo{})
			got[n.Address()]++
		}
		return got
	}
	if got := picked(ctx); len(got) != 3 || got["10.0.0.1:80"] != 0 {
		t.Errorf("selector filter: picked %v; want the 3 v2 nodes", got)
	}
	if got := picked(ctx, selector.WithNodeFilter(filter.Metadata("zone", "a"))); len(got) != 1 || got["10.0.0.2:80"] != 12 {
		t.Errorf("per-call filter: picked %v; want only 10.0.0.2", got)
	}
	fctx := selector.NewFilterContext(ctx, filter.Metadata("zone", "b"))
	if got := picked(fctx); len(got) != 1 || got["10.0.0.3:80"] != 12 {
		t.Errorf("context filter: picked %v; want only 10.0.0.3", got)
	}
	// Context filters accumulate.
	both := selector.NewFilterContext(fctx, filter.Metadata("zone", "a"))
	if n := len(selector.FiltersFromContext(both)); n != 2 {
		t.Fatalf("FiltersFromContext has %d filters; want 2", n)
	}
	_, _, err := p.Select(both)
	assertNoNode(t, err, "svc")
	if selector.FiltersFromContext(ctx) != nil {
		t.Fatal("FiltersFromContext(background) is not nil")
	}

	// A filter may return nodes of its own: they are matched by address.
	raw := func(_ context.Context, ns []selector.Node) []selector.Node {
		return []selector.Node{selector.NewNode("http", "10.0.0.4:80", nil), selector.NewNode("http", "10.9.9.9:80", nil), nil}
	}
	if got := picked(ctx, selector.WithNodeFilter(raw)); len(got) != 1 || got["10.0.0.4:80"] != 12 {
		t.Errorf("filter returning raw nodes: picked %v; want only 10.0.0.4", got)
	}
	// A filter that modifies its slice in place does not corrupt the picker.
	clobber := func(_ context.Context, ns []selector.Node) []selector.Node {
		for i := range ns {
			ns[i] = nil
		}
		return ns[:0]
	}
	if _, _, err := p.Select(ctx, selector.WithNodeFilter(clobber)); err == nil {
		t.Fatal("Select with a filter leaving nothing succeeded")
	}
	if got := picked(ctx); len(got) != 3 {
		t.Errorf("after clobbering filter: picked %v; want the 3 v2 nodes", got)
	}
}

func TestBalancerRegistry(t *testing.T) {
	func() {
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(fmt.Sprint(r), `unknown balancer "nope"`) {
				t.Fatalf("NewSelector with unknown balancer: recover() = %v", r)
			}
		}()
		selector.NewSelector(selector.Balancer("nope"))
	}()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("RegisterBalancer with nil builders did not panic")
			}
		}()
		selector.RegisterBalancer("x", nil, nil)
	}()
}

func TestDefault(t *testing.T) {
	d := selector.Default()
	if d != selector.Default() {
		t.Fatal("Default returns different selectors")
	}
	if d.Discovery() != nil {
		t.Fatal("Default has a Discovery")
	}
	if _, _, err := d.Select(context.Background(), "svc"); err == nil || !strings.Contains(err.Error(), "no Registry option") {
		t.Fatalf("Default().Select = %v; want a no-Registry error", err)
	}
	p := d.Build()
	p.Apply(selector.NodesFromInstances("grpc", []*registry.ServiceInstance{inst("1", "v1", nil, "grpc://h:1")}))
	n, done, err := p.Select(context.Background())
	if err != nil || n.Address() != "h:1" {
		t.Fatalf("Default picker Select = %v, %v", n, err)
	}
	done(context.Background(), selector.DoneInfo{})
}

// pickUntil selects until want is picked or the deadline passes.
func pickUntil(t *testing.T, sl *selector.Selector, want string, opts ...selector.SelectOption) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		n, done, err := sl.Select(ctx, "svc", opts...)
		if err == nil {
			done(ctx, selector.DoneInfo{})
			if n.Address() == want {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s was not picked within %v", want, wait)
}

func TestSelectorSelectLive(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewInMemory()
	reg.Register(ctx, inst("1", "v1", nil, "grpc://10.0.0.1:9000", "http://10.0.0.1:8000"))
	sl := selector.NewSelector(selector.Registry(reg), selector.Balancer(roundrobin.Name))
	defer sl.Close()
	if sl.Discovery() != reg {
		t.Fatal("Discovery is not the Registry option")
	}

	n, done, err := sl.Select(ctx, "svc")
	if err != nil || n.Address() != "10.0.0.1:9000" {
		t.Fatalf("Select = %v, %v; want the first endpoint", n, err)
	}
	done(ctx, selector.DoneInfo{})
	n, _, err = sl.Select(ctx, "svc", selector.WithScheme("http"))
	if err != nil || n.Address() != "10.0.0.1:8000" || n.Scheme() != "http" {
		t.Fatalf("Select http = %v, %v", n, err)
	}

	// A second instance is picked soon after it registers.
	reg.Register(ctx, inst("2", "v1", nil, "grpc://10.0.0.2:9000", "http://10.0.0.2:8000"))
	pickUntil(t, sl, "10.0.0.2:9000")
	pickUntil(t, sl, "10.0.0.2:8000", selector.WithScheme("http"))

	// Once all instances are gone, Select reports 503.
	reg.Deregister(ctx, inst("1", "", nil))
	reg.Deregister(ctx, inst("2", "", nil))
	deadline := time.Now().Add(wait)
	for {
		_, _, err := sl.Select(ctx, "svc")
		if err != nil {
			assertNoNode(t, err, "svc")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Select still succeeds after deregistering everything")
		}
		time.Sleep(time.Millisecond)
	}
	// A service with no instances at all.
	_, _, err = sl.Select(ctx, "empty")
	assertNoNode(t, err, "empty")

	sl.Close()
	if _, _, err := sl.Select(ctx, "svc"); err == nil || !strings.Contains(err.Error(), "selector closed") {
		t.Fatalf("Select after Close = %v; want selector closed", err)
	}
	if err := sl.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// stoppingDiscovery wraps an InMemory and lets tests stop its watchers, as a
// remote registry's connection loss would.
type stoppingDiscovery struct {
	*registry.InMemory
	mu       sync.Mutex
	watchers []registry.Watcher
	fail     error // returned by Watch when set
}

func (d *stoppingDiscovery) Watch(ctx context.Context, name string) (registry.Watcher, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	w, err := d.InMemory.Watch(ctx, name)
	if err == nil {
		d.watchers = append(d.watchers, w)
	}
	return w, err
}

func (d *stoppingDiscovery) stopAll() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.watchers {
		w.Stop()
	}
	n := len(d.watchers)
	d.watchers = nil
	return n
}

func TestSelectorWatchRetry(t *testing.T) {
	ctx := context.Background()
	d := &stoppingDiscovery{InMemory: registry.NewInMemory()}
	d.Register(ctx, inst("1", "v1", nil, "http://10.0.0.1:80"))
	sl := selector.NewSelector(selector.Registry(d), selector.Balancer(roundrobin.Name))
	defer sl.Close()
	pickUntil(t, sl, "10.0.0.1:80")

	// The watch breaks: the last instances stay in use, and the selector
	// watches again and sees later changes.
	if n := d.stopAll(); n != 1 {
		t.Fatalf("%d watchers; want 1", n)
	}
	pickUntil(t, sl, "10.0.0.1:80")
	d.Register(ctx, inst("2", "v1", nil, "http://10.0.0.2:80"))
	pickUntil(t, sl, "10.0.0.2:80")
}

func TestSelectorWatchError(t *testing.T) {
	ctx := context.Background()
	boom := stderrors.New("registry down")
	d := &stoppingDiscovery{InMemory: registry.NewInMemory(), fail: boom}
	d.InMemory.Register(ctx, inst("1", "v1", nil, "http://10.0.0.1:80"))
	sl := selector.NewSelector(selector.Registry(d))
	defer sl.Close()
	_, _, err := sl.Select(ctx, "svc")
	if !stderrors.Is(err, boom) || !strings.Contains(err.Error(), `watch service "svc"`) {
		t.Fatalf("Select with failing Watch = %v", err)
	}
	// The failure is not cached: once the registry is back, Select works.
	d.mu.Lock()
	d.fail = nil
	d.mu.Unlock()
	if _, _, err := sl.Select(ctx, "svc"); err != nil {
		t.Fatalf("Select after recovery = %v", err)
	}
}

// blockingDiscovery's watchers never deliver anything.
type blockingDiscovery struct{ registry.Discovery }

type blockingWatcher struct{ stop chan struct{} }

func (blockingDiscovery) Watch(context.Context, string) (registry.Watcher, error) {
	return &blockingWatcher{make(chan struct{})}, nil
}
func (w *blockingWatcher) Next() ([]*registry.ServiceInstance, error) {
	<-w.stop
	return nil, registry.ErrWatcherStopped
}
func (w *blockingWatcher) Stop() error { close(w.stop); return nil }

func TestSelectorSelectContext(t *testing.T) {
	// The watch never delivers: Select gives up with its context, and Close
	// still stops the watcher (it ignores the context).
	sl := selector.NewSelector(selector.Registry(blockingDiscovery{}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err := sl.Select(ctx, "svc")
	if !stderrors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Select = %v; want DeadlineExceeded", err)
	}
	sl.Close()
}

func TestSelectorCloseWhileWaiting(t *testing.T) {
	sl := selector.NewSelector(selector.Registry(blockingDiscovery{}))
	errc := make(chan error, 1)
	go func() {
		_, _, err := sl.Select(context.Background(), "svc")
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // let Select start waiting (passes either way)
	sl.Close()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "selector closed") {
			t.Fatalf("Select during Close = %v; want selector closed", err)
		}
	case <-time.After(wait):
		t.Fatal("Select did not return after Close")
	}
}

func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewInMemory()
	for _, name := range allBalancers {
		sl := selector.NewSelector(selector.Registry(reg), selector.Balancer(name))
		p := sl.Build()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() { // churn the node set
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var ins []*registry.ServiceInstance
				for j := range 1 + i%5 {
					ins = append(ins, inst(fmt.Sprint(j), "v1", nil, fmt.Sprintf("http://10.0.0.%d:80", j)))
				}
				p.Apply(selector.NodesFromInstances("http", ins))
				reg.Register(ctx, ins[len(ins)-1])
				time.Sleep(100 * time.Microsecond)
			}
		}()
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fctx := selector.NewFilterContext(ctx, filter.Version("v1"))
				for i := range 500 {
					if n, done, err := p.Select(ctx); err == nil {
						done(ctx, selector.DoneInfo{Err: nil})
						_ = n.Address()
					}
					if _, done, err := p.Select(fctx); err == nil {
						done(ctx, selector.DoneInfo{Err: errors.InternalServer("X", "x")})
					}
					if i%10 == 0 {
						if _, done, err := sl.Select(ctx, "svc"); err == nil {
							done(ctx, selector.DoneInfo{})
						}
					}
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		close(stop)
		wg.Wait()
		sl.Close()
	}
}

func TestSelectorCloseStopsWatchers(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewInMemory()
	sl := selector.NewSelector(selector.Registry(reg))
	for _, name := range []string{"a", "b", "c"} {
		reg.Register(ctx, &registry.ServiceInstance{ID: "1", Name: name, Endpoints: []string{"http://h:1"}})
		if _, _, err := sl.Select(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	sl.Close()
	goleak.VerifyNone(t)
}
