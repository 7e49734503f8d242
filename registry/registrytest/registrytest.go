// Package registrytest is the contract of registry.Registrar and
// registry.Discovery, written once as a test suite that every registry runs
// against its own backend:
//
//	func TestContract(t *testing.T) {
//		backend := startBackend(t)
//		registrytest.Run(t, registrytest.Harness{
//			NewRegistrar: func(t *testing.T) registry.Registrar { return myreg.New(backend.client(t)) },
//			NewDiscovery: func(t *testing.T) registry.Discovery { return myreg.New(backend.client(t)) },
//			Crash:        func(t *testing.T, r registry.Registrar) { r.(*myreg.Registry).Close() },
//			Expiry:       5 * time.Second,
//			Restart:      backend.restart,
//		})
//	}
//
// # The contract
//
// Run checks, each in a subtest named below, that a registry:
//
//   - Register: lists a registered instance in GetService, with its ID,
//     name, version, metadata and endpoints as registered (compared by
//     Harness.Equal); an unknown service has no instances and no error.
//   - RegisterAgain: replaces the instance of the same name and ID when it
//     is registered again with other data, leaving one instance.
//   - Isolation: lists only the instances of the service asked for, also
//     for services whose names are prefixes of one another.
//   - Deregister: removes a deregistered instance, leaving the others;
//     deregistering an instance that is not registered is not an error.
//   - Invalid: refuses a nil instance, an instance without a name and one
//     without an ID, with an error, for Register and Deregister.
//   - Concurrent: registers and deregisters instances from many goroutines
//     at once through one Registrar.
//   - WatchFirst: a Watcher's first Next returns the current instances at
//     once, and an empty list for an unknown service.
//   - WatchChanges: a Watcher reports registrations, a re-registration
//     with new data, and deregistrations; the lists it returns eventually
//     reflect each change (a list may be skipped or repeated, never wrong
//     for long).
//   - WatcherStop: Stop makes a blocked Next return an error, Next after
//     Stop returns an error, and Stop may be called twice.
//   - WatchContext: a Watcher ends, its blocked Next returning an error,
//     once the context given to Watch is done; Watch with a done context
//     fails or returns a Watcher whose Next fails.
//   - Crash: an instance whose process died (Harness.Crash) leaves the
//     registry within Harness.Expiry, and watchers see it leave, while the
//     instances of other Registrars stay.
//   - Restart: after the backend restarts (Harness.Restart), the instances
//     registered before are listed again (kept by the backend or registered
//     again by their Registrar), registering and deregistering work again,
//     and registry.Follow reports the changes made after the restart.
//   - Close: a Registrar or Discovery that is an io.Closer ends the blocked
//     Next of its watchers with an error once closed, instead of leaving
//     them blocked.
//
// Subtests whose Harness hook is nil (Crash, Restart) are skipped, and so
// are those named in Harness.Skip, with the reason given there.
//
// Every subtest uses services of its own, named "rt-<subtest>...", made of
// lower-case letters, digits and '-', and instance IDs of the same alphabet,
// so that any backend accepts them and leftovers of one subtest never show
// in another. Subtests run one after the other, never in parallel.
//
// The package is a test helper: import it from _test.go files only.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/registry"
)

// Harness is the registry under test and what the suite may do to its
// backend. NewRegistrar and NewDiscovery are required; the rest is
// optional.
type Harness struct {
	// NewRegistrar returns a new Registrar, as one process would hold: a
	// Registrar of its own, with its own client, connection or session
	// where the backend has them, so that Crash can kill it alone. Release
	// it with t.Cleanup: the suite closes nothing itself.
	NewRegistrar func(t *testing.T) registry.Registrar
	// NewDiscovery returns a Discovery of the same backend. It may be the
	// same value as a Registrar, or another client.
	NewDiscovery func(t *testing.T) registry.Discovery
	// Crash makes r, returned by NewRegistrar, die as a process dies: it
	// stops keeping its registrations alive (closes its client, drops its
	// session, stops its heartbeats) without deregistering anything. The
	// backend must then forget them on its own, within Expiry. nil skips
	// the Crash subtest, for registries such as the in-memory one that keep
	// instances until they are deregistered.
	Crash func(t *testing.T, r registry.Registrar)
	// Expiry is the longest a crashed instance may stay listed after
	// Crash returns: the backend's TTL, session or lease timeout, plus the
	// slack its expiry schedule needs. Keep it generous: CI is a loaded
	// 2-core machine running -race. Zero means Wait.
	Expiry time.Duration
	// Restart stops the backend and starts it again, returning once it
	// serves. Whether data survives is the backend's business: the suite
	// only requires that registrations come back. nil skips the Restart
	// subtest.
	Restart func(t *testing.T)
	// Wait bounds every "eventually" check of the suite (a change reaching
	// GetService or a Watcher, a Register retried while a client
	// reconnects). Zero means 15s.
	Wait time.Duration
	// Instance returns the instance with name and id that the suite
	// registers; version is "v1" or "v2", for re-registrations. nil
	// builds one with that version, metadata {"zone": "z1", "weight":
	// "10", "version": version} and endpoints grpc:// and http:// on
	// 127.0.0.1, which every backend should carry whole.
	Instance func(name, id, version string) *registry.ServiceInstance
	// Equal reports whether got, listed by the Discovery, is the
	// registered instance want. nil compares ID, Name, Version, Metadata
	// (nil and empty are equal) and Endpoints (in any order). A backend
	// that cannot carry some field says so here, and in its README.
	Equal func(want, got *registry.ServiceInstance) bool
	// Skip names subtests (as listed in the package doc) to skip, each with
	// the reason, which the test log shows.
	Skip map[string]string
}

// suite is a Harness with its defaults filled in.
type suite struct {
	Harness
	disc registry.Discovery // shared by the subtests that only read
}

// Run runs the contract as subtests of t, in the order of the package doc.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.NewRegistrar == nil || h.NewDiscovery == nil {
		t.Fatal("registrytest: Harness needs NewRegistrar and NewDiscovery")
	}
	if h.Wait <= 0 {
		h.Wait = 15 * time.Second
	}
	if h.Expiry <= 0 {
		h.Expiry = h.Wait
	}
	if h.Instance == nil {
		h.Instance = defaultInstance
	}
	if h.Equal == nil {
		h.Equal = Equal
	}
	s := &suite{Harness: h, disc: h.NewDiscovery(t)}
	for _, c := range []struct {
		name string
		fn   func(*testing.T, *suite)
	}{
		{"Register", testRegister},
		{"RegisterAgain", testRegisterAgain},
		{"Isolation", testIsolation},
		{"Deregister", testDeregister},
		{"Invalid", testInvalid},
		{"Concurrent", testConcurrent},
		{"WatchFirst", testWatchFirst},
		{"WatchChanges", testWatchChanges},
		{"WatcherStop", testWatcherStop},
		{"WatchContext", testWatchContext},
		{"Crash", testCrash},
		{"Restart", testRestart},
		{"Close", testClose},
	} {
		t.Run(c.name, func(t *testing.T) {
			if reason, ok := h.Skip[c.name]; ok {
				t.Skipf("skipped by the harness: %s", reason)
			}
			c.fn(t, s)
		})
	}
}

func defaultInstance(name, id, version string) *registry.ServiceInstance {
	return &registry.ServiceInstance{
		ID:        id,
		Name:      name,
		Version:   version,
		Metadata:  map[string]string{"zone": "z1", "weight": "10", "version": version},
		Endpoints: []string{"grpc://127.0.0.1:9000", "http://127.0.0.1:8000"},
	}
}

// Equal is the default Harness.Equal: ID, Name, Version, Metadata (nil
// and empty are equal) and Endpoints (in any order) must match.
func Equal(want, got *registry.ServiceInstance) bool {
	if want == nil || got == nil {
		return want == got
	}
	return want.ID == got.ID && want.Name == got.Name && want.Version == got.Version &&
		maps.Equal(want.Metadata, got.Metadata) &&
		slices.Equal(slices.Sorted(slices.Values(want.Endpoints)), slices.Sorted(slices.Values(got.Endpoints)))
}

// service returns the name of a service of the running subtest.
func service(t *testing.T, suffix ...string) string {
	name := t.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return strings.Join(append([]string{"rt-" + strings.ToLower(name)}, suffix...), "-")
}

// ctx returns a context bounded by the suite's Wait, canceled when t ends.
func (s *suite) ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.Wait)
	t.Cleanup(cancel)
	return ctx
}

func (s *suite) register(t testing.TB, r registry.Registrar, in *registry.ServiceInstance) {
	t.Helper()
	if err := r.Register(s.ctx(t), in); err != nil {
		t.Fatalf("Register(%s/%s): %v", in.Name, in.ID, err)
	}
}

func (s *suite) deregister(t testing.TB, r registry.Registrar, in *registry.ServiceInstance) {
	t.Helper()
	if err := r.Deregister(s.ctx(t), in); err != nil {
		t.Fatalf("Deregister(%s/%s): %v", in.Name, in.ID, err)
	}
}

// matches reports whether list holds exactly the instances want, by
// s.Equal, in any order, and if not, why.
func (s *suite) matches(list []*registry.ServiceInstance, want []*registry.ServiceInstance) (bool, string) {
	if len(list) != len(want) {
		return false, fmt.Sprintf("got %d instances %s, want %d %s", len(list), IDs(list), len(want), IDs(want))
	}
	for _, w := range want {
		i := slices.IndexFunc(list, func(g *registry.ServiceInstance) bool { return g != nil && g.ID == w.ID })
		if i < 0 {
			return false, fmt.Sprintf("got %s, want %s", IDs(list), IDs(want))
		}
		if !s.Equal(w, list[i]) {
			return false, fmt.Sprintf("instance %s is %+v, want %+v", w.ID, *list[i], *w)
		}
	}
	return true, ""
}

// eventually polls GetService of name until it lists exactly want.
func (s *suite) eventually(t testing.TB, d registry.Discovery, name string, want ...*registry.ServiceInstance) {
	t.Helper()
	deadline := time.Now().Add(s.Wait)
	var why string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.Wait)
		list, err := d.GetService(ctx, name)
		cancel()
		if err == nil {
			var ok bool
			if ok, why = s.matches(list, want); ok {
				return
			}
		} else {
			why = "GetService: " + err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetService(%q) after %v: %s", name, s.Wait, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// IDs returns the IDs of list, sorted and joined by commas, for messages.
func IDs(list []*registry.ServiceInstance) string {
	ids := make([]string, 0, len(list))
	for _, in := range list {
		if in == nil {
			ids = append(ids, "<nil>")
			continue
		}
		ids = append(ids, in.ID)
	}
	slices.Sort(ids)
	return "[" + strings.Join(ids, ",") + "]"
}

type result struct {
	list []*registry.ServiceInstance
	err  error
}

// nextAsync calls w.Next in a goroutine, so that a broken watcher fails
// the test instead of hanging it.
func nextAsync(w registry.Watcher) <-chan result {
	ch := make(chan result, 1)
	go func() {
		list, err := w.Next()
		ch <- result{list, err}
	}()
	return ch
}

// watch opens a watcher of name that is stopped when t ends. The
// goroutine of a Next still blocked at the end returns once Stop is
// called, before goleak's check in the registry's TestMain.
func (s *suite) watch(t testing.TB, d registry.Discovery, name string) registry.Watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := d.Watch(ctx, name)
	if err != nil {
		cancel()
		t.Fatalf("Watch(%q): %v", name, err)
	}
	t.Cleanup(func() {
		_ = w.Stop()
		cancel()
	})
	return w
}

// watchUntil calls w.Next until it returns exactly want, failing after
// Wait or on an error. pending is a Next already under way, or nil.
func (s *suite) watchUntil(t testing.TB, w registry.Watcher, what string, want ...*registry.ServiceInstance) {
	t.Helper()
	deadline := time.After(s.Wait)
	var why string
	for {
		select {
		case r := <-nextAsync(w):
			if r.err != nil {
				t.Fatalf("waiting for %s: Next: %v", what, r.err)
			}
			var ok bool
			if ok, why = s.matches(r.list, want); ok {
				return
			}
		case <-deadline:
			// Unblock the Next still running, so its goroutine ends.
			_ = w.Stop()
			t.Fatalf("waiting for %s: no matching list from Next after %v; last: %s", what, s.Wait, why)
		}
	}
}

func testRegister(t *testing.T, s *suite) {
	r := s.NewRegistrar(t)
	name := service(t)
	a := s.Instance(name, name+"-a", "v1")
	b := s.Instance(name, name+"-b", "v1")
	s.register(t, r, a)
	s.eventually(t, s.disc, name, a)
	s.register(t, r, b)
	s.eventually(t, s.disc, name, a, b)

	t.Run("UnknownService", func(t *testing.T) {
		list, err := s.disc.GetService(s.ctx(t), service(t, "nobody"))
		if err != nil {
			t.Fatalf("GetService of an unknown service: %v; want no error", err)
		}
		if len(list) != 0 {
			t.Fatalf("GetService of an unknown service: %s; want none", IDs(list))
		}
	})
}

func testRegisterAgain(t *testing.T, s *suite) {
	r := s.NewRegistrar(t)
	name := service(t)
	v1 := s.Instance(name, name+"-a", "v1")
	s.register(t, r, v1)
	s.eventually(t, s.disc, name, v1)
	v2 := s.Instance(name, name+"-a", "v2")
	s.register(t, r, v2)
	s.eventually(t, s.disc, name, v2)
	s.deregister(t, r, v2)
	s.eventually(t, s.disc, name)
}

func testIsolation(t *testing.T, s *suite) {
	r := s.NewRegistrar(t)
	short := service(t)
	long := service(t, "long")
	a := s.Instance(short, short+"-a", "v1")
	b := s.Instance(long, long+"-b", "v1")
	s.register(t, r, a)
	s.register(t, r, b)
	s.eventually(t, s.disc, short, a)
	s.eventually(t, s.disc, long, b)
	w := s.watch(t, s.disc, short)
	s.watchUntil(t, w, "the first list of "+short, a)
	c := s.Instance(long, long+"-c", "v1")
	s.register(t, r, c)
	d := s.Instance(short, short+"-d", "v1")
	s.register(t, r, d)
	// The watcher of short may see c's registration as a change, but never
	// list c.
	s.watchUntil(t, w, "d in "+short, a, d)
	s.eventually(t, s.disc, long, b, c)
}

func testDeregister(t *testing.T, s *suite) {
	r := s.NewRegistrar(t)
	name := service(t)
	a := s.Instance(name, name+"-a", "v1")
	b := s.Instance(name, name+"-b", "v1")
	s.register(t, r, a)
	s.register(t, r, b)
	s.eventually(t, s.disc, name, a, b)
	s.deregister(t, r, a)
	s.eventually(t, s.disc, name, b)
	s.deregister(t, r, b)
	s.eventually(t, s.disc, name)

	t.Run("Unknown", func(t *testing.T) {
		if err := r.Deregister(s.ctx(t), s.Instance(name, name+"-never", "v1")); err != nil {
			t.Fatalf("Deregister of an instance never registered: %v; want no error", err)
		}
		if err := r.Deregister(s.ctx(t), a); err != nil {
			t.Fatalf("second Deregister of %s: %v; want no error", a.ID, err)
		}
	})
}

func testInvalid(t *testing.T, s *suite) {
	r := s.NewRegistrar(t)
	name := service(t)
	noName := s.Instance(name, name+"-a", "v1")
	noName.Name = ""
	noID := s.Instance(name, name+"-a", "v1")
	noID.ID = ""
	for _, c := range []struct {
		name string
		in   *registry.ServiceInstance
	}{
		{"Nil", nil},
		{"NoName", noName},
		{"NoID", noID},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := r.Register(s.ctx(t), c.in); err == nil {
				t.Error("Register succeeded; want an error")
			}
			if err := r.Deregister(s.ctx(t), c.in); err == nil {
				t.Error("Deregister succeeded; want an error")
			}
		})
	}
	s.eventually(t, s.disc, name)
}

func testConcurrent(t *testing.T, s *suite) {
	const n = 8
	r := s.NewRegistrar(t)
	name := service(t)
	ins := make([]*registry.ServiceInstance, n)
	for i := range ins {
		ins[i] = s.Instance(name, fmt.Sprintf("%s-%d", name, i), "v1")
	}
	each := func(op func(context.Context, *registry.ServiceInstance) error) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, in := range ins {
			wg.Go(func() { errs[i] = op(s.ctx(t), in) })
		}
		wg.Wait()
		return errs
	}
	for i, err := range each(r.Register) {
		if err != nil {
			t.Fatalf("concurrent Register of %s: %v", ins[i].ID, err)
		}
	}
	s.eventually(t, s.disc, name, ins...)
	for i, err := range each(r.Deregister) {
		if err != nil {
			t.Fatalf("concurrent Deregister of %s: %v", ins[i].ID, err)
		}
	}
	s.eventually(t, s.disc, name)
}

func testWatchFirst(t *testing.T, s *suite) {
	r := s.NewRegistrar(t)
	name := service(t)
	a := s.Instance(name, name+"-a", "v1")
	s.register(t, r, a)
	s.eventually(t, s.disc, name, a)
	// The first Next returns what is registered without waiting for a
	// change: no change will come.
	s.watchUntil(t, s.watch(t, s.disc, name), "the first list", a)

	t.Run("UnknownService", func(t *testing.T) {
		w := s.watch(t, s.disc, service(t, "nobody"))
		select {
		case r := <-nextAsync(w):
			if r.err != nil || len(r.list) != 0 {
				t.Fatalf("first Next of an unknown service: %s, %v; want an empty list", IDs(r.list), r.err)
			}
		case <-time.After(s.Wait):
			_ = w.Stop()
			t.Fatalf("first Next of an unknown service blocked for %v; want an empty list at once", s.Wait)
		}
	})
}

func testWatchChanges(t *testing.T, s *suite) {
	r := s.NewRegistrar(t)
	name := service(t)
	w := s.watch(t, s.disc, name)
	s.watchUntil(t, w, "the first, empty, list")
	a := s.Instance(name, name+"-a", "v1")
	s.register(t, r, a)
	s.watchUntil(t, w, "a registered", a)
	b := s.Instance(name, name+"-b", "v1")
	s.register(t, r, b)
	s.watchUntil(t, w, "b registered", a, b)
	a2 := s.Instance(name, name+"-a", "v2")
	s.register(t, r, a2)
	s.watchUntil(t, w, "a registered again as v2", a2, b)
	s.deregister(t, r, a2)
	s.watchUntil(t, w, "a deregistered", b)
	s.deregister(t, r, b)
	s.watchUntil(t, w, "b deregistered")

	t.Run("Burst", func(t *testing.T) {
		var all []*registry.ServiceInstance
		for i := range 5 {
			in := s.Instance(name, fmt.Sprintf("%s-burst-%d", name, i), "v1")
			all = append(all, in)
			s.register(t, r, in)
		}
		s.watchUntil(t, w, "five instances registered in a burst", all...)
		for _, in := range all {
			s.deregister(t, r, in)
		}
		s.watchUntil(t, w, "the burst deregistered")
	})
}

func testWatcherStop(t *testing.T, s *suite) {
	name := service(t)
	w := s.watch(t, s.disc, name)
	s.watchUntil(t, w, "the first list")
	pending := nextAsync(w)
	// Give Next time to block, so that Stop is tested on a blocked Next
	// and not only before it.
	time.Sleep(50 * time.Millisecond)
	if err := w.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case r := <-pending:
		if r.err == nil {
			t.Fatalf("blocked Next returned %s after Stop; want an error", IDs(r.list))
		}
	case <-time.After(s.Wait):
		t.Fatalf("blocked Next still blocked %v after Stop", s.Wait)
	}
	select {
	case r := <-nextAsync(w):
		if r.err == nil {
			t.Fatalf("Next after Stop returned %s; want an error", IDs(r.list))
		}
	case <-time.After(s.Wait):
		t.Fatalf("Next after Stop blocked for %v; want an error at once", s.Wait)
	}
	if err := w.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func testWatchContext(t *testing.T, s *suite) {
	name := service(t)
	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w, err := s.disc.Watch(ctx, name)
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		defer w.Stop()
		s.watchUntil(t, w, "the first list")
		pending := nextAsync(w)
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case r := <-pending:
			if r.err == nil {
				t.Fatalf("blocked Next returned %s after its context was canceled; want an error", IDs(r.list))
			}
		case <-time.After(s.Wait):
			t.Fatalf("blocked Next still blocked %v after its context was canceled", s.Wait)
		}
	})
	t.Run("AlreadyDone", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		w, err := s.disc.Watch(ctx, name)
		if err != nil {
			return // refusing at once is one way to keep the contract
		}
		defer w.Stop()
		select {
		case r := <-nextAsync(w):
			if r.err == nil {
				t.Fatalf("Next of a watcher with a done context returned %s; want an error", IDs(r.list))
			}
		case <-time.After(s.Wait):
			t.Fatalf("Next of a watcher with a done context blocked for %v", s.Wait)
		}
	})
}

func testCrash(t *testing.T, s *suite) {
	if s.Crash == nil {
		t.Skip("the harness has no Crash: the registry keeps instances until they are deregistered")
	}
	victim, survivor := s.NewRegistrar(t), s.NewRegistrar(t)
	name := service(t)
	dead := s.Instance(name, name+"-dead", "v1")
	alive := s.Instance(name, name+"-alive", "v1")
	s.register(t, victim, dead)
	s.register(t, survivor, alive)
	s.eventually(t, s.disc, name, dead, alive)
	w := s.watch(t, s.disc, name)
	s.watchUntil(t, w, "both instances", dead, alive)

	s.Crash(t, victim)
	crashed := time.Now()
	s.watchUntil(t, w, "the crashed instance to leave", alive)
	gone := time.Since(crashed)
	t.Logf("the crashed instance left %v after the crash (Expiry %v)", gone.Round(time.Millisecond), s.Expiry)
	if gone > s.Expiry {
		t.Errorf("the crashed instance stayed %v; want at most Expiry %v", gone, s.Expiry)
	}
	s.eventually(t, s.disc, name, alive)
	s.deregister(t, survivor, alive)
	s.eventually(t, s.disc, name)
}

func testRestart(t *testing.T, s *suite) {
	if s.Restart == nil {
		t.Skip("the harness has no Restart")
	}
	r := s.NewRegistrar(t)
	d := s.NewDiscovery(t)
	name := service(t)
	before := s.Instance(name, name+"-before", "v1")
	s.register(t, r, before)
	s.eventually(t, d, name, before)

	// Follow is how clients consume a Discovery: it re-watches after a
	// watcher fails, so a restart may break watchers but not Follow.
	var (
		mu     sync.Mutex
		latest []*registry.ServiceInstance
	)
	ctx, cancel := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = registry.Follow(ctx, d, name, func(list []*registry.ServiceInstance) {
			mu.Lock()
			latest = list
			mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-followed })
	followUntil := func(what string, want ...*registry.ServiceInstance) {
		t.Helper()
		deadline := time.Now().Add(s.Wait)
		for {
			mu.Lock()
			ok, why := s.matches(latest, want)
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("registry.Follow: waiting for %s after %v: %s", what, s.Wait, why)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	followUntil("the instance registered before the restart", before)

	s.Restart(t)
	s.eventually(t, d, name, before)

	// The Registrar's client may still be reconnecting: retry within Wait.
	after := s.Instance(name, name+"-after", "v1")
	retry(t, s.Wait, "Register after the restart", func(ctx context.Context) error { return r.Register(ctx, after) })
	s.eventually(t, d, name, before, after)
	followUntil("the instance registered after the restart", before, after)
	retry(t, s.Wait, "Deregister after the restart", func(ctx context.Context) error { return r.Deregister(ctx, before) })
	s.eventually(t, d, name, after)
	followUntil("the instance deregistered after the restart", after)
	s.deregister(t, r, after)
}

// retry calls op until it succeeds, failing t after wait.
func retry(t testing.TB, wait time.Duration, what string, op func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		err := op(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, wait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testClose(t *testing.T, s *suite) {
	closers := 0
	for _, c := range []struct {
		name string
		open func(*testing.T) any
	}{
		{"Discovery", func(t *testing.T) any { return s.NewDiscovery(t) }},
		{"Registrar", func(t *testing.T) any { return s.NewRegistrar(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := c.open(t)
			closer, ok := v.(io.Closer)
			d, isDisc := v.(registry.Discovery)
			if !ok || !isDisc {
				t.Skipf("%T is not an io.Closer and a Discovery", v)
			}
			closers++
			name := service(t)
			w := s.watch(t, d, name)
			s.watchUntil(t, w, "the first list")
			pending := nextAsync(w)
			time.Sleep(50 * time.Millisecond)
			if err := closer.Close(); err != nil && !errors.Is(err, io.EOF) {
				t.Logf("Close: %v", err)
			}
			select {
			case r := <-pending:
				if r.err == nil {
					t.Fatalf("blocked Next returned %s after Close; want an error", IDs(r.list))
				}
			case <-time.After(s.Wait):
				t.Fatalf("blocked Next still blocked %v after Close", s.Wait)
			}
		})
	}
	if closers == 0 {
		t.Skip("neither the Discovery nor the Registrar is an io.Closer")
	}
}
