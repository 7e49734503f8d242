package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is how long "eventually" checks wait; generous for loaded machines.
const wait = 5 * time.Second

func instance(name, id string) *registry.ServiceInstance {
	return &registry.ServiceInstance{
		ID:        id,
		Name:      name,
		Version:   "v1",
		Metadata:  map[string]string{"zone": "a"},
		Endpoints: []string{"http://127.0.0.1:8000"},
	}
}

func ids(list []*registry.ServiceInstance) string {
	s := ""
	for i, in := range list {
		if i > 0 {
			s += ","
		}
		s += in.ID
	}
	return s
}

// next calls w.Next in a goroutine so a test never hangs on a broken watcher.
func next(t *testing.T, w registry.Watcher) ([]*registry.ServiceInstance, error) {
	t.Helper()
	type result struct {
		list []*registry.ServiceInstance
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := w.Next()
		ch <- result{l, err}
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

func TestInMemoryRegisterGetDeregister(t *testing.T) {
	ctx := context.Background()
	r := registry.NewInMemory()

	got, err := r.GetService(ctx, "svc")
	if err != nil || len(got) != 0 {
		t.Fatalf("GetService on empty registry = %v, %v; want empty, nil", got, err)
	}
	for _, id := range []string{"1", "2", "3"} {
		if err := r.Register(ctx, instance("svc", id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Register(ctx, instance("other", "1")); err != nil {
		t.Fatal(err)
	}
	got, _ = r.GetService(ctx, "svc")
	if ids(got) != "1,2,3" {
		t.Fatalf("GetService = %s; want 1,2,3", ids(got))
	}

	// Same ID replaces in place.
	repl := instance("svc", "2")
	repl.Version = "v2"
	if err := r.Register(ctx, repl); err != nil {
		t.Fatal(err)
	}
	got, _ = r.GetService(ctx, "svc")
	if ids(got) != "1,2,3" || got[1].Version != "v2" {
		t.Fatalf("after replace: %s, version %q; want 1,2,3 with v2", ids(got), got[1].Version)
	}

	if err := r.Deregister(ctx, instance("svc", "1")); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(ctx, instance("svc", "unknown")); err != nil {
		t.Fatalf("Deregister unknown: %v", err)
	}
	got, _ = r.GetService(ctx, "svc")
	if ids(got) != "2,3" {
		t.Fatalf("after deregister: %s; want 2,3", ids(got))
	}
	r.Deregister(ctx, instance("svc", "2"))
	r.Deregister(ctx, instance("svc", "3"))
	got, _ = r.GetService(ctx, "svc")
	if len(got) != 0 {
		t.Fatalf("after deregistering all: %s; want empty", ids(got))
	}
	got, _ = r.GetService(ctx, "other")
	if ids(got) != "1" {
		t.Fatalf("other service: %s; want 1", ids(got))
	}
}

func TestInMemoryCopies(t *testing.T) {
	ctx := context.Background()
	r := registry.NewInMemory()
	in := instance("svc", "1")
	r.Register(ctx, in)

	// Mutating what was registered does not change the registry.
	in.Metadata["zone"] = "changed"
	in.Endpoints[0] = "changed"
	in.Version = "changed"

	got, _ := r.GetService(ctx, "svc")
	if got[0].Metadata["zone"] != "a" || got[0].Endpoints[0] != "http://127.0.0.1:8000" || got[0].Version != "v1" {
		t.Fatalf("registry shares memory with the registered instance: %+v", got[0])
	}
	// Mutating what was returned does not change the registry either.
	got[0].Metadata["zone"] = "changed"
	got[0].Endpoints[0] = "changed"
	got[0] = nil

	w, _ := r.Watch(ctx, "svc")
	defer w.Stop()
	list, _ := w.Next()
	list[0].Metadata["zone"] = "changed"

	again, _ := r.GetService(ctx, "svc")
	if again[0] == nil || again[0].Metadata["zone"] != "a" || again[0].Endpoints[0] != "http://127.0.0.1:8000" {
		t.Fatalf("registry shares memory with returned instances: %+v", again[0])
	}
}

func TestInMemoryInvalid(t *testing.T) {
	ctx := context.Background()
	r := registry.NewInMemory()
	for _, tc := range []struct {
		in   *registry.ServiceInstance
		want string
	}{
		{nil, "registry: register: nil service instance"},
		{&registry.ServiceInstance{ID: "1"}, `registry: register: instance "1" has no name`},
		{&registry.ServiceInstance{Name: "svc"}, `registry: register: instance of "svc" has no ID`},
	} {
		err := r.Register(ctx, tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Register(%+v) = %v; want %q", tc.in, err, tc.want)
		}
	}
	if err := r.Deregister(ctx, nil); err == nil {
		t.Error("Deregister(nil) succeeded")
	}

	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Register(done, instance("svc", "1")); !errors.Is(err, context.Canceled) {
		t.Errorf("Register with canceled ctx = %v; want context.Canceled", err)
	}
	if err := r.Deregister(done, instance("svc", "1")); !errors.Is(err, context.Canceled) {
		t.Errorf("Deregister with canceled ctx = %v; want context.Canceled", err)
	}
	if _, err := r.GetService(done, "svc"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetService with canceled ctx = %v; want context.Canceled", err)
	}
	if _, err := r.Watch(done, "svc"); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch with canceled ctx = %v; want context.Canceled", err)
	}
}

func TestInMemoryWatch(t *testing.T) {
	ctx := context.Background()
	r := registry.NewInMemory()
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	// First Next returns at once, even when empty.
	list, err := next(t, w)
	if err != nil || len(list) != 0 {
		t.Fatalf("first Next = %v, %v; want empty, nil", list, err)
	}

	// Later Next blocks until a change.
	type result struct {
		list []*registry.ServiceInstance
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := w.Next()
		ch <- result{l, err}
	}()
	select {
	case r := <-ch:
		t.Fatalf("Next returned %v, %v before any change", r.list, r.err)
	case <-time.After(20 * time.Millisecond):
	}
	r.Register(ctx, instance("other", "x")) // another service: no wake-up
	r.Register(ctx, instance("svc", "1"))
	select {
	case res := <-ch:
		if res.err != nil || ids(res.list) != "1" {
			t.Fatalf("Next after Register = %s, %v; want 1", ids(res.list), res.err)
		}
	case <-time.After(wait):
		t.Fatal("Next did not return after Register")
	}

	// Changes made while nobody waits are coalesced into one Next.
	r.Register(ctx, instance("svc", "2"))
	r.Deregister(ctx, instance("svc", "1"))
	list, err = next(t, w)
	if err != nil || ids(list) != "2" {
		t.Fatalf("Next = %s, %v; want 2", ids(list), err)
	}
	// Deregistering everything reports an empty list.
	r.Deregister(ctx, instance("svc", "2"))
	list, err = next(t, w)
	if err != nil || len(list) != 0 {
		t.Fatalf("Next = %s, %v; want empty", ids(list), err)
	}
}

func TestInMemoryWatchFirstNextCurrent(t *testing.T) {
	ctx := context.Background()
	r := registry.NewInMemory()
	r.Register(ctx, instance("svc", "1"))
	w, _ := r.Watch(ctx, "svc")
	defer w.Stop()
	// A change between Watch and the first Next is part of the first list and
	// does not cause a second, identical report.
	r.Register(ctx, instance("svc", "2"))
	list, err := next(t, w)
	if err != nil || ids(list) != "1,2" {
		t.Fatalf("first Next = %s, %v; want 1,2", ids(list), err)
	}
	ch := make(chan struct{})
	go func() {
		w.Next()
		close(ch)
	}()
	select {
	case <-ch:
		t.Fatal("second Next returned without a change")
	case <-time.After(20 * time.Millisecond):
	}
	w.Stop()
	<-ch
}

func TestInMemoryWatchStop(t *testing.T) {
	r := registry.NewInMemory()
	w, _ := r.Watch(context.Background(), "svc")
	next(t, w)
	errc := make(chan error, 1)
	go func() {
		_, err := w.Next()
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // let Next block (the test passes either way)
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, registry.ErrWatcherStopped) {
			t.Fatalf("Next after Stop = %v; want ErrWatcherStopped", err)
		}
	case <-time.After(wait):
		t.Fatal("Next did not return after Stop")
	}
	if err := w.Stop(); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
	if _, err := w.Next(); !errors.Is(err, registry.ErrWatcherStopped) {
		t.Fatalf("Next after Stop = %v; want ErrWatcherStopped", err)
	}
	// A stopped watcher is not woken any more (and does not block Register).
	r.Register(context.Background(), instance("svc", "1"))
}

func TestInMemoryWatchContext(t *testing.T) {
	r := registry.NewInMemory()
	ctx, cancel := context.WithCancel(context.Background())
	w, _ := r.Watch(ctx, "svc")
	defer w.Stop()
	next(t, w)
	errc := make(chan error, 1)
	go func() {
		_, err := w.Next()
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel = %v; want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Next did not return after cancel")
	}
	if _, err := w.Next(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel = %v; want context.Canceled", err)
	}
}

func TestInMemoryConcurrent(t *testing.T) {
	ctx := context.Background()
	r := registry.NewInMemory()
	const watchers, writers, perWriter = 4, 4, 50
	const want = writers*perWriter/2 + 1 // kept instances plus "final"

	var wg sync.WaitGroup
	ws := make([]registry.Watcher, watchers)
	sawFinal := make([]chan struct{}, watchers)
	for i := range ws {
		ws[i], _ = r.Watch(ctx, "svc")
		sawFinal[i] = make(chan struct{})
		wg.Add(1)
		go func(w registry.Watcher, saw chan struct{}) {
			defer wg.Done()
			for {
				list, err := w.Next()
				if err != nil {
					return
				}
				if len(list) == want && saw != nil {
					close(saw)
					saw = nil
				}
			}
		}(ws[i], sawFinal[i])
	}
	var writersWG sync.WaitGroup
	for i := range writers {
		writersWG.Add(1)
		go func() {
			defer writersWG.Done()
			for j := range perWriter {
				in := instance("svc", fmt.Sprintf("%d-%d", i, j))
				r.Register(ctx, in)
				r.GetService(ctx, "svc")
				if j%2 == 1 {
					r.Deregister(ctx, in)
				}
			}
		}()
	}
	writersWG.Wait()
	r.Register(ctx, instance("svc", "final"))
	got, _ := r.GetService(ctx, "svc")
	if len(got) != want {
		t.Errorf("GetService has %d instances; want %d", len(got), want)
	}
	// Every watcher eventually sees the final list.
	for i, saw := range sawFinal {
		select {
		case <-saw:
		case <-time.After(wait):
			t.Errorf("watcher %d never saw %d instances", i, want)
		}
	}
	for _, w := range ws {
		w.Stop()
	}
	wg.Wait()
}
