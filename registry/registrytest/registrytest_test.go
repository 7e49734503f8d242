package registrytest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is a registry with what the suite's hooks need: registrars that
// can crash (their instances expire shortly after), a restart that loses
// every instance (registrars register theirs again), and closable
// discoveries. It is built on the in-memory registry.
type backend struct {
	mem *registry.InMemory

	mu         sync.Mutex
	registrars []*registrar
}

type registrar struct {
	b *backend

	mu      sync.Mutex
	crashed bool
	own     map[string]*registry.ServiceInstance // by name/id
}

func (r *registrar) Register(ctx context.Context, s *registry.ServiceInstance) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.crashed {
		return errors.New("crashed")
	}
	if err := r.b.mem.Register(ctx, s); err != nil {
		return err
	}
	r.own[s.Name+"/"+s.ID] = s
	return nil
}

func (r *registrar) Deregister(ctx context.Context, s *registry.ServiceInstance) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s != nil {
		delete(r.own, s.Name+"/"+s.ID)
	}
	return r.b.mem.Deregister(ctx, s)
}

// crash stops the registrar; its instances expire 100ms later.
func (r *registrar) crash() {
	r.mu.Lock()
	r.crashed = true
	own := r.own
	r.own = nil
	r.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	for _, s := range own {
		_ = r.b.mem.Deregister(context.Background(), s)
	}
}

// restart loses every instance, then each live registrar registers its
// own again.
func (b *backend) restart() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.registrars {
		r.mu.Lock()
		for _, s := range r.own {
			_ = b.mem.Deregister(context.Background(), s)
		}
		r.mu.Unlock()
	}
	for _, r := range b.registrars {
		r.mu.Lock()
		for _, s := range r.own {
			_ = b.mem.Register(context.Background(), s)
		}
		r.mu.Unlock()
	}
}

func (b *backend) newRegistrar(*testing.T) registry.Registrar {
	r := &registrar{b: b, own: make(map[string]*registry.ServiceInstance)}
	b.mu.Lock()
	b.registrars = append(b.registrars, r)
	b.mu.Unlock()
	return r
}

// discovery is a Discovery that is an io.Closer: Close stops its watchers.
type discovery struct {
	registry.Discovery

	mu       sync.Mutex
	watchers []registry.Watcher
}

func (d *discovery) Watch(ctx context.Context, name string) (registry.Watcher, error) {
	w, err := d.Discovery.Watch(ctx, name)
	if err == nil {
		d.mu.Lock()
		d.watchers = append(d.watchers, w)
		d.mu.Unlock()
	}
	return w, err
}

func (d *discovery) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.watchers {
		_ = w.Stop()
	}
	return nil
}

func newHarness() registrytest.Harness {
	b := &backend{mem: registry.NewInMemory()}
	return registrytest.Harness{
		NewRegistrar: b.newRegistrar,
		NewDiscovery: func(*testing.T) registry.Discovery { return &discovery{Discovery: b.mem} },
		Crash:        func(_ *testing.T, r registry.Registrar) { r.(*registrar).crash() },
		Expiry:       5 * time.Second,
		Restart:      func(*testing.T) { b.restart() },
	}
}

// TestRun runs the whole suite, every hook included, on a registry that
// keeps the contract.
func TestRun(t *testing.T) {
	registrytest.Run(t, newHarness())
}

func TestSkip(t *testing.T) {
	h := newHarness()
	h.Skip = map[string]string{"Restart": "tested elsewhere"}
	h.Crash, h.Restart = nil, nil
	registrytest.Run(t, h)
}

// brokenEnv names the flaw that TestBrokenRegistry gives the registry.
const brokenEnv = "REGISTRYTEST_BROKEN"

// TestSuiteCatchesBrokenRegistries runs the suite, in a child process, on
// registries with one flaw each, and checks that the subtest meant to catch
// the flaw fails.
func TestSuiteCatchesBrokenRegistries(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("in the child process")
	}
	for _, c := range []struct{ flaw, subtest, says string }{
		{"lossy", "Register", "instance rt-register-a is"},
		{"sticky", "Deregister", "GetService(\"rt-deregister\")"},
		{"deaf", "WatchChanges", "waiting for a registered"},
		{"immortal", "Crash", "the crashed instance to leave"},
		{"unstoppable", "WatcherStop", "still blocked"},
		{"lenient", "Invalid", "succeeded; want an error"},
	} {
		t.Run(c.flaw, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenRegistry$/^"+c.subtest+"$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+c.flaw)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a %s registry:\n%s", c.flaw, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBrokenRegistry/"+c.subtest) || !strings.Contains(string(out), c.says) {
				t.Fatalf("want %s to fail saying %q; got:\n%s", c.subtest, c.says, out)
			}
		})
	}
}

// TestBrokenRegistry is run by TestSuiteCatchesBrokenRegistries in a
// child process; it is skipped otherwise.
func TestBrokenRegistry(t *testing.T) {
	flaw := os.Getenv(brokenEnv)
	if flaw == "" {
		t.Skip("run by TestSuiteCatchesBrokenRegistries")
	}
	h := newHarness()
	h.Wait, h.Expiry = time.Second, 500*time.Millisecond
	newReg, newDisc := h.NewRegistrar, h.NewDiscovery
	h.NewRegistrar = func(t *testing.T) registry.Registrar { return broken{flaw: flaw, r: newReg(t)} }
	h.NewDiscovery = func(t *testing.T) registry.Discovery { return broken{flaw: flaw, d: newDisc(t)} }
	if flaw == "immortal" {
		h.Crash = func(*testing.T, registry.Registrar) {}
	} else {
		crash := h.Crash
		h.Crash = func(t *testing.T, r registry.Registrar) { crash(t, r.(broken).r) }
	}
	registrytest.Run(t, h)
}

// broken is a Registrar or Discovery with one flaw.
type broken struct {
	flaw string
	r    registry.Registrar
	d    registry.Discovery
}

func (b broken) Register(ctx context.Context, s *registry.ServiceInstance) error {
	if b.flaw == "lenient" && (s == nil || s.ID == "" || s.Name == "") {
		return nil
	}
	return b.r.Register(ctx, s)
}

func (b broken) Deregister(ctx context.Context, s *registry.ServiceInstance) error {
	if b.flaw == "sticky" || b.flaw == "lenient" && (s == nil || s.ID == "" || s.Name == "") {
		return nil
	}
	return b.r.Deregister(ctx, s)
}

func (b broken) GetService(ctx context.Context, name string) ([]*registry.ServiceInstance, error) {
	list, err := b.d.GetService(ctx, name)
	return b.mangle(list), err
}

func (b broken) mangle(list []*registry.ServiceInstance) []*registry.ServiceInstance {
	if b.flaw == "lossy" {
		for _, s := range list {
			s.Metadata = nil
		}
	}
	return list
}

func (b broken) Watch(ctx context.Context, name string) (registry.Watcher, error) {
	w, err := b.d.Watch(ctx, name)
	if err != nil {
		return nil, err
	}
	return &brokenWatcher{b: b, w: w, ctx: ctx, stop: make(chan struct{})}, nil
}

type brokenWatcher struct {
	b    broken
	w    registry.Watcher
	ctx  context.Context
	stop chan struct{}
	once sync.Once
	n    int
}

func (w *brokenWatcher) Next() ([]*registry.ServiceInstance, error) {
	w.n++
	switch {
	case w.b.flaw == "deaf" && w.n > 1:
		select { // hears no change, ever
		case <-w.stop:
			return nil, registry.ErrWatcherStopped
		case <-w.ctx.Done():
			return nil, w.ctx.Err()
		}
	case w.b.flaw == "unstoppable" && w.n > 1:
		<-w.ctx.Done() // Stop does not reach it
		return nil, w.ctx.Err()
	}
	list, err := w.w.Next()
	return w.b.mangle(list), err
}

func (w *brokenWatcher) Stop() error {
	if w.b.flaw != "unstoppable" {
		w.once.Do(func() { close(w.stop) })
		return w.w.Stop()
	}
	return nil
}
