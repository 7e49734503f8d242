package registry_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/registry"
)

// step is what one watcher of scriptDiscovery does: fail at Watch, or
// return lists, let the clock advance by lived, then fail Next.
type step struct {
	watchErr error
	lists    [][]*registry.ServiceInstance
	lived    time.Duration
	nextErr  error
}

// scriptDiscovery plays one step per Watch call; once they run out, its
// watchers block until stopped.
type scriptDiscovery struct {
	clock *fakeClock
	mu    sync.Mutex
	steps []step
	calls int
}

func (d *scriptDiscovery) GetService(context.Context, string) ([]*registry.ServiceInstance, error) {
	return nil, errors.New("not used")
}

func (d *scriptDiscovery) Watch(context.Context, string) (registry.Watcher, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := &scriptWatcher{clock: d.clock, stop: make(chan struct{}), block: d.calls >= len(d.steps)}
	if !w.block {
		w.step = d.steps[d.calls]
	}
	d.calls++
	if w.step.watchErr != nil {
		return nil, w.step.watchErr
	}
	return w, nil
}

type scriptWatcher struct {
	clock *fakeClock
	step  step
	block bool
	once  sync.Once
	stop  chan struct{}
}

func (w *scriptWatcher) Next() ([]*registry.ServiceInstance, error) {
	if w.block || len(w.step.lists) == 0 && w.step.nextErr == nil {
		<-w.stop
		return nil, registry.ErrWatcherStopped
	}
	if len(w.step.lists) > 0 {
		l := w.step.lists[0]
		w.step.lists = w.step.lists[1:]
		return l, nil
	}
	w.clock.advance(w.step.lived)
	return nil, w.step.nextErr
}

func (w *scriptWatcher) Stop() error {
	w.once.Do(func() { close(w.stop) })
	return nil
}

// fakeClock returns from Sleep at once, advancing its time, and records
// the delays.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) delays() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// testPolicy is Reconnect without jitter, so delays are exact.
func testPolicy() backoff.Policy {
	p := backoff.Reconnect()
	p.Jitter = 0
	return p
}

func list(ids ...string) []*registry.ServiceInstance {
	out := make([]*registry.ServiceInstance, len(ids))
	for i, id := range ids {
		out[i] = &registry.ServiceInstance{ID: id, Name: "svc"}
	}
	return out
}

// follow runs Follow until the script is played out and every list arrived,
// and returns the ids of the lists received.
func follow(t *testing.T, d *scriptDiscovery, want int, opts ...registry.FollowOption) [][]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var got [][]string
	done := make(chan error, 1)
	update := func(l []*registry.ServiceInstance) {
		ids := make([]string, len(l))
		for i, in := range l {
			ids[i] = in.ID
		}
		got = append(got, ids)
		if len(got) == want {
			cancel()
		}
	}
	go func() {
		done <- registry.Follow(ctx, d, "svc", update, append([]registry.FollowOption{registry.WithBackoff(testPolicy(), d.clock)}, opts...)...)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow = %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		cancel()
		<-done
		t.Fatalf("Follow delivered %v, want %d lists", got, want)
	}
	return got
}

func TestFollow(t *testing.T) {
	lost := errors.New("connection lost")
	t.Run("watches again after Next fails", func(t *testing.T) {
		d := &scriptDiscovery{clock: &fakeClock{}, steps: []step{
			{lists: [][]*registry.ServiceInstance{list("a")}, nextErr: lost},
			{lists: [][]*registry.ServiceInstance{list("a", "b")}, nextErr: lost},
			{lists: [][]*registry.ServiceInstance{list("b")}},
		}}
		got := follow(t, d, 3)
		if want := [][]string{{"a"}, {"a", "b"}, {"b"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("lists = %v, want %v", got, want)
		}
		if d.calls != 3 {
			t.Errorf("Watch called %d times, want 3", d.calls)
		}
	})
	t.Run("backs off exponentially while the registry is down", func(t *testing.T) {
		down := step{watchErr: errors.New("registry down")}
		d := &scriptDiscovery{clock: &fakeClock{}, steps: []step{down, down, down, down, down, down, down, down, {lists: [][]*registry.ServiceInstance{list("a")}}}}
		var errs []error
		var retries []time.Duration
		follow(t, d, 1, registry.OnWatchError(func(err error, retryIn time.Duration) bool {
			errs = append(errs, err)
			retries = append(retries, retryIn)
			return true
		}))
		ms := time.Millisecond
		want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms}
		if got := d.clock.delays(); !slices.Equal(got, want) {
			t.Errorf("slept %v, want %v", got, want)
		}
		if !slices.Equal(retries, want) {
			t.Errorf("OnWatchError retryIn = %v, want %v", retries, want)
		}
		if len(errs) != 8 || errs[0].Error() != "registry down" {
			t.Errorf("OnWatchError errors = %v, want 8 of %q", errs, "registry down")
		}
	})
	t.Run("delays start over after a long healthy watch", func(t *testing.T) {
		short := step{lists: [][]*registry.ServiceInstance{list("a")}, nextErr: lost}
		long := short
		long.lived = time.Minute
		d := &scriptDiscovery{clock: &fakeClock{}, steps: []step{short, short, short, long, short, {lists: [][]*registry.ServiceInstance{list("a")}}}}
		follow(t, d, 6)
		ms := time.Millisecond
		// The short-lived watchers do not reset: a registry that drops every
		// watch at once is backed off from.
		want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 100 * ms, 200 * ms}
		if got := d.clock.delays(); !slices.Equal(got, want) {
			t.Errorf("slept %v, want %v", got, want)
		}
	})
	t.Run("OnWatchError returning false stops", func(t *testing.T) {
		down := errors.New("registry down")
		d := &scriptDiscovery{clock: &fakeClock{}, steps: []step{{watchErr: down}}}
		err := registry.Follow(context.Background(), d, "svc", func([]*registry.ServiceInstance) {
			t.Error("update called")
		}, registry.OnWatchError(func(error, time.Duration) bool { return false }))
		if !errors.Is(err, down) {
			t.Errorf("Follow = %v, want %v", err, down)
		}
	})
	t.Run("context done while sleeping", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		d := &scriptDiscovery{clock: &fakeClock{}, steps: []step{{watchErr: errors.New("down")}}}
		err := registry.Follow(ctx, d, "svc", func([]*registry.ServiceInstance) {},
			registry.WithBackoff(testPolicy(), d.clock),
			registry.OnWatchError(func(error, time.Duration) bool { cancel(); return true }))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Follow = %v, want context.Canceled", err)
		}
	})
	t.Run("with the in-memory registry and the real clock", func(t *testing.T) {
		r := registry.NewInMemory()
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan []*registry.ServiceInstance, 4)
		done := make(chan error, 1)
		go func() {
			done <- registry.Follow(ctx, r, "svc", func(l []*registry.ServiceInstance) { got <- l })
		}()
		if l := <-got; len(l) != 0 {
			t.Fatalf("first list = %v, want empty", l)
		}
		if err := r.Register(ctx, &registry.ServiceInstance{ID: "a", Name: "svc"}); err != nil {
			t.Fatal(err)
		}
		select {
		case l := <-got:
			if len(l) != 1 || l[0].ID != "a" {
				t.Fatalf("second list = %v, want [a]", l)
			}
		case <-time.After(wait):
			t.Fatal("no update after Register")
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow = %v, want context.Canceled", err)
		}
	})
}
