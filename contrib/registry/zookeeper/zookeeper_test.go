package zookeeper_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zelos-go/zelos/contrib/registry/zookeeper"
	"github.com/zelos-go/zelos/registry"
)

func instance(name, id string) *registry.ServiceInstance {
	return &registry.ServiceInstance{
		ID:        id,
		Name:      name,
		Version:   "v1",
		Metadata:  map[string]string{"zone": "a"},
		Endpoints: []string{"grpc://127.0.0.1:9000"},
	}
}

// ids returns the IDs of list joined by commas.
func ids(list []*registry.ServiceInstance) string {
	s := make([]string, len(list))
	for i, in := range list {
		s[i] = in.ID
	}
	return strings.Join(s, ",")
}

// waitFor polls cond until it holds, failing the test after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func listed(t *testing.T, r *zookeeper.Registry, name, want string) func() bool {
	return func() bool {
		list, err := r.GetService(context.Background(), name)
		return err == nil && ids(list) == want
	}
}

// A process cut off for longer than the session timeout loses its session
// and ZooKeeper deletes its znode; once the network is back the Registry
// opens a new session and creates the znode again, without a Register.
func TestSessionExpiredRegistersAgain(t *testing.T) {
	s := startServer(t)
	d := new(cutDialer)
	r := newRegistry(t, s, zookeeper.WithDialer(d.dial))
	obs := newRegistry(t, s)
	a := instance("svc", "a")
	if err := r.Register(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a registered", listed(t, obs, "svc", "a"))

	d.setCut(true)
	cut := time.Now()
	waitFor(t, "the session to expire and a to leave", listed(t, obs, "svc", ""))
	t.Logf("a left %v after its network was cut (session timeout %v)", time.Since(cut).Round(time.Millisecond), sessionTimeout)

	d.setCut(false)
	back := time.Now()
	waitFor(t, "a registered again on a new session", listed(t, obs, "svc", "a"))
	t.Logf("a registered again %v after the network came back", time.Since(back).Round(time.Millisecond))

	if err := r.Deregister(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a deregistered", listed(t, obs, "svc", ""))
}

// ZooKeeper stops for longer than the session timeout and comes back on
// the same data: the watcher delivers nothing meanwhile (its caller keeps
// the last list), the instance is listed afterwards (ZooKeeper restores
// the sessions of its data and gives their clients a session timeout to
// reconnect; a session it expired instead would be replaced and the znode
// created again, as TestSessionExpiredRegistersAgain shows), and the
// watcher reports later changes.
func TestServerDownLongerThanSession(t *testing.T) {
	s := startServer(t)
	r := newRegistry(t, s)
	obs := newRegistry(t, s)
	a := instance("svc", "a")
	ctx := context.Background()
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	w, err := obs.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if list, err := w.Next(); err != nil || ids(list) != "a" {
		t.Fatalf("first Next = [%s], %v; want [a]", ids(list), err)
	}
	results := make(chan []*registry.ServiceInstance, 16)
	errs := make(chan error, 1)
	go func() {
		for {
			list, err := w.Next()
			if err != nil {
				errs <- err
				return
			}
			results <- list
		}
	}()

	s.stop()
	time.Sleep(sessionTimeout + time.Second)
	select {
	case list := <-results:
		t.Fatalf("Next returned [%s] while ZooKeeper was down; want it to keep waiting", ids(list))
	case err := <-errs:
		t.Fatalf("Next failed while ZooKeeper was down: %v; want it to keep waiting", err)
	default:
	}
	s.start()
	waitFor(t, "a listed after the restart", listed(t, obs, "svc", "a"))

	b := instance("svc", "b")
	if err := r.Register(ctx, b); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(wait)
	for {
		select {
		case list := <-results:
			if ids(list) == "a,b" {
				_ = w.Stop()
				if err := <-errs; !errors.Is(err, registry.ErrWatcherStopped) {
					t.Fatalf("Next after Stop = %v; want ErrWatcherStopped", err)
				}
				return
			}
			t.Logf("watcher reported [%s]", ids(list))
		case err := <-errs:
			t.Fatalf("Next failed after the restart: %v", err)
		case <-deadline:
			_ = w.Stop()
			<-errs
			t.Fatalf("the watcher did not report [a,b] within %v of the restart", wait)
		}
	}
}

func TestOptionsAndErrors(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()

	t.Run("RootPath", func(t *testing.T) {
		r := newRegistry(t, s, zookeeper.WithRootPath("/prod/"), zookeeper.WithAuth("digest", []byte("user:pass")), zookeeper.WithACL(zk.WorldACL(zk.PermAll)...))
		if err := r.Register(ctx, instance("svc", "a")); err != nil {
			t.Fatal(err)
		}
		obs := newRegistry(t, s)
		if list, err := obs.GetService(ctx, "svc"); err != nil || len(list) != 0 {
			t.Fatalf("GetService under the default root = [%s], %v; want none", ids(list), err)
		}
		other := newRegistry(t, s, zookeeper.WithRootPath("prod"))
		waitFor(t, "a under /prod", listed(t, other, "svc", "a"))
	})

	t.Run("InvalidNames", func(t *testing.T) {
		r := newRegistry(t, s)
		for _, in := range []*registry.ServiceInstance{{Name: "a/b", ID: "c"}, {Name: "n", ID: ".."}} {
			err := r.Register(ctx, in)
			if err == nil || !strings.HasPrefix(err.Error(), "zookeeper: ") {
				t.Errorf("Register(%+v) = %v; want a zookeeper: error", in, err)
			}
		}
	})

	t.Run("Closed", func(t *testing.T) {
		r := newRegistry(t, s)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := r.Register(ctx, instance("svc", "x")); !errors.Is(err, zookeeper.ErrClosed) {
			t.Errorf("Register after Close = %v; want ErrClosed", err)
		}
		if _, err := r.GetService(ctx, "svc"); !errors.Is(err, zookeeper.ErrClosed) {
			t.Errorf("GetService after Close = %v; want ErrClosed", err)
		}
		if _, err := r.Watch(ctx, "svc"); !errors.Is(err, zookeeper.ErrClosed) {
			t.Errorf("Watch after Close = %v; want ErrClosed", err)
		}
	})

	t.Run("NoServer", func(t *testing.T) {
		if _, err := zookeeper.New(nil); err == nil {
			t.Fatal("New with no server succeeded")
		}
		r, err := zookeeper.New([]string{freeAddr(t)}, zookeeper.WithSessionTimeout(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := r.Register(cctx, instance("svc", "a")); err == nil {
			t.Fatal("Register without a server succeeded")
		}
	})
}
