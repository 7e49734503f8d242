package consul_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/configtest"
	"github.com/zelos-go/zelos/contrib/config/consul"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

func TestContract(t *testing.T) {
	f := newFakeConsul(t)
	c := f.client(t)
	// Writes go through the HTTP API, as an operator's would.
	put := func(t *testing.T, key string, data []byte) {
		if _, err := c.KV().Put(&api.KVPair{Key: key, Value: data}, nil); err != nil {
			t.Fatal(err)
		}
	}
	del := func(t *testing.T, key string) {
		if _, err := c.KV().Delete(key, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("prefix", func(t *testing.T) {
		configtest.Run(t, configtest.Harness{
			Keys: []string{"configs/app/a.yaml", "configs/app/b.json"},
			New: func(*testing.T) config.Source {
				return consul.NewSource(c, consul.WithPath("configs/app/"))
			},
			Put:    put,
			Delete: del,
		})
	})
	t.Run("key", func(t *testing.T) {
		configtest.Run(t, configtest.Harness{
			Keys: []string{"configs/single.yaml"},
			New: func(*testing.T) config.Source {
				return consul.NewSource(c, consul.WithPath("/configs/single.yaml"))
			},
			Put: put,
		})
	})
}

// next runs w.Next in a goroutine and returns its result channel.
func next(w config.Watcher) <-chan []*config.KeyValue {
	ch := make(chan []*config.KeyValue, 1)
	go func() {
		kvs, _ := w.Next()
		ch <- kvs
	}()
	return ch
}

func recv(t *testing.T, ch <-chan []*config.KeyValue) []*config.KeyValue {
	t.Helper()
	select {
	case kvs := <-ch:
		return kvs
	case <-time.After(wait):
		t.Fatal("Next did not return")
		return nil
	}
}

// TestBlocking checks that an idle watcher holds one blocking query rather
// than polling, and that its wait time reaches Consul.
func TestBlocking(t *testing.T) {
	f := newFakeConsul(t)
	f.set("app.yaml", []byte("v: 1"))
	w, err := consul.NewSource(f.client(t), consul.WithPath("app.yaml"), consul.WithWaitTime(time.Minute)).Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ch := next(w)
	time.Sleep(300 * time.Millisecond)
	if n := f.gets.Load(); n > 2 {
		t.Errorf("%d GETs while idle, want 2 (the first read and one blocking query)", n)
	}
	if _, ok := f.waits.Load("60000ms"); !ok {
		t.Error("the blocking query did not carry wait=60000ms")
	}
	f.set("app.yaml", []byte("v: 2"))
	if kvs := recv(t, ch); len(kvs) != 1 || string(kvs[0].Value) != "v: 2" {
		t.Errorf("Next = %v", kvs)
	}
}

// TestWaitElapsed checks that a blocking query that times out unchanged is
// asked again, not reported as a change.
func TestWaitElapsed(t *testing.T) {
	f := newFakeConsul(t)
	f.set("app.yaml", []byte("v: 1"))
	w, err := consul.NewSource(f.client(t), consul.WithPath("app.yaml"), consul.WithWaitTime(50*time.Millisecond)).Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ch := next(w)
	deadline := time.Now().Add(wait)
	for f.gets.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case kvs := <-ch:
		t.Fatalf("Next returned %v without a change", kvs)
	default:
	}
	// A write to another key moves nothing this source reads.
	f.set("other.yaml", []byte("x: 1"))
	f.set("app.yaml", []byte("v: 1")) // the same value: the index moves, the data does not
	f.set("app.yaml", []byte("v: 2"))
	if kvs := recv(t, ch); len(kvs) != 1 || string(kvs[0].Value) != "v: 2" {
		t.Errorf("Next = %v", kvs)
	}
}

// TestIndexBackwards checks that after a snapshot restore lowers the
// index, the watcher reads the restored data and blocks on the new index.
func TestIndexBackwards(t *testing.T) {
	f := newFakeConsul(t)
	f.set("app.yaml", []byte("v: 1"))
	for range 20 {
		f.set("noise", []byte("x"))
	}
	w, err := consul.NewSource(f.client(t), consul.WithPath("app.yaml")).Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ch := next(w)
	time.Sleep(50 * time.Millisecond) // let the query block
	f.restore(3, map[string]string{"app.yaml": "v: restored"})
	if kvs := recv(t, ch); len(kvs) != 1 || string(kvs[0].Value) != "v: restored" {
		t.Fatalf("Next = %v", kvs)
	}
	ch = next(w)
	f.set("app.yaml", []byte("v: after"))
	if kvs := recv(t, ch); len(kvs) != 1 || string(kvs[0].Value) != "v: after" {
		t.Errorf("Next = %v", kvs)
	}
}

func TestKeys(t *testing.T) {
	f := newFakeConsul(t)
	f.set("configs/greeter/", nil) // a folder, as the UI makes
	f.set("configs/greeter/db/host", []byte("db.local"))
	f.set("configs/greeter/app.json", []byte(`{"name": "greeter"}`))
	f.set("configs/greeterx/app.json", []byte(`{"name": "other"}`))
	f.set("configs/raw", []byte("name: raw"))
	tests := []struct {
		name   string
		src    config.Source
		values map[string]string
	}{
		{"prefix", consul.NewSource(f.client(t), consul.WithPath("configs/greeter/")),
			map[string]string{"db.host": "db.local", "name": "greeter"}},
		{"format", consul.NewSource(f.client(t), consul.WithPath("configs/raw"), consul.WithFormat("yaml")),
			map[string]string{"name": "raw"}},
		{"flat key", consul.NewSource(f.client(t), consul.WithPath("configs/greeter/db/host")),
			map[string]string{"host": "db.local"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.New(config.WithSource(tc.src))
			defer c.Close()
			if err := c.Load(); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.values {
				if got, err := c.Value(k).String(); err != nil || got != want {
					t.Errorf("Value(%q) = %q, %v; want %q", k, got, err, want)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := newFakeConsul(t)
	c := f.client(t)
	tests := []struct {
		name string
		src  config.Source
		want string
	}{
		{"nil client", consul.NewSource(nil, consul.WithPath("x")), "consul: nil client"},
		{"no path", consul.NewSource(c), "consul: no key"},
		{"missing key", consul.NewSource(c, consul.WithPath("missing.yaml")), "consul: key missing.yaml not found"},
		{"datacenter", consul.NewSource(c, consul.WithPath("x/"), consul.WithDatacenter("dc9")), "No path to datacenter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.src.Load()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want %q", err, tc.want)
			}
			if tc.name != "missing key" {
				if _, err := tc.src.Watch(); err == nil {
					t.Error("Watch: no error")
				}
			}
		})
	}
	t.Run("no leader while watching", func(t *testing.T) {
		f.set("app.yaml", []byte("v: 1"))
		w, err := consul.NewSource(c, consul.WithPath("app.yaml")).Watch()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		f.failing.Store(true)
		f.set("app.yaml", []byte("v: 2"))
		if _, err := w.Next(); err == nil || !strings.HasPrefix(err.Error(), "consul: get app.yaml") {
			t.Errorf("Next: %v", err)
		}
		f.failing.Store(false)
		// The change made while failing is not lost: the watcher kept its
		// index, and the next query returns at once.
		kvs, err := w.Next()
		if err != nil || len(kvs) != 1 || string(kvs[0].Value) != "v: 2" {
			t.Errorf("Next = %v, %v", kvs, err)
		}
	})
}
