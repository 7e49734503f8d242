package etcd_test

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/configtest"
	"github.com/zelos-go/zelos/contrib/config/etcd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is how long "eventually" checks wait; generous for loaded machines.
const wait = 15 * time.Second

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEtcd starts a real single-member etcd, embedded in the test process,
// and returns a client of it; both are closed when the test ends.
func startEtcd(t *testing.T) *clientv3.Client {
	t.Helper()
	cu := url.URL{Scheme: "http", Host: freePort(t)}
	pu := url.URL{Scheme: "http", Host: freePort(t)}
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = t.TempDir()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 50, 500
	cfg.LogLevel = "fatal"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(wait):
		t.Fatal("etcd did not become ready")
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{cu.String()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func put(t *testing.T, c *clientv3.Client, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := c.Put(ctx, key, value); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, c *clientv3.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := c.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
}

func TestContract(t *testing.T) {
	c := startEtcd(t)
	t.Run("prefix", func(t *testing.T) {
		configtest.Run(t, configtest.Harness{
			Keys: []string{"a.yaml", "b.json"},
			New: func(*testing.T) config.Source {
				return etcd.NewSource(c, etcd.WithPath("/prefix/"), etcd.WithPrefix(true))
			},
			Put:     func(t *testing.T, key string, data []byte) { put(t, c, "/prefix/"+key, string(data)) },
			Delete:  func(t *testing.T, key string) { del(t, c, "/prefix/"+key) },
			Timeout: leakTimeout,
		})
	})
	t.Run("key", func(t *testing.T) {
		configtest.Run(t, configtest.Harness{
			Keys: []string{"/key/app.yaml"},
			New: func(*testing.T) config.Source {
				return etcd.NewSource(c, etcd.WithPath("/key/app.yaml"))
			},
			Put:     func(t *testing.T, key string, data []byte) { put(t, c, key, string(data)) },
			Timeout: leakTimeout,
		})
	})
}

// leakTimeout is how long the contract waits for changes and for the
// client's watch stream to end after Close. etcd's client ends the gRPC
// stream of its last watcher asynchronously; on a cold-cache CI compiling
// other packages beside the test, that took longer than the 10 s default
// once.
const leakTimeout = 30 * time.Second

// TestChangeLatency measures how long a value change takes to reach an
// Observer. The issue asks for 200ms; the assertion is looser, because a
// loaded 2-core CI running -race can stall any process for longer, and
// the figure is logged.
func TestChangeLatency(t *testing.T) {
	c := startEtcd(t)
	put(t, c, "/latency/app.yaml", "n: 0")
	cfg := config.New(config.WithSource(etcd.NewSource(c, etcd.WithPath("/latency/app.yaml"))))
	defer cfg.Close()
	if err := cfg.Load(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan int64, 1)
	if err := cfg.Watch("n", func(_ string, v config.Value) {
		n, _ := v.Int()
		seen <- n
	}); err != nil {
		t.Fatal(err)
	}
	const rounds = 20
	var took []time.Duration
	for i := int64(1); i <= rounds; i++ {
		start := time.Now()
		put(t, c, "/latency/app.yaml", "n: "+strconv.FormatInt(i, 10))
		select {
		case n := <-seen:
			if n != i {
				t.Fatalf("Observer saw %d, want %d", n, i)
			}
		case <-time.After(wait):
			t.Fatalf("change %d not seen within %v", i, wait)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	median, worst := took[rounds/2], took[rounds-1]
	t.Logf("put to Observer over %d changes: median %v, max %v (goal 200ms)", rounds, median, worst)
	if median > 2*time.Second {
		t.Errorf("median latency %v, want well under 2s (goal 200ms)", median)
	}
}

func TestFlatKeys(t *testing.T) {
	c := startEtcd(t)
	put(t, c, "/flat/db/host", "db.local")
	put(t, c, "/flat/db/port", "5432")
	put(t, c, "/flat/app.json", `{"name": "greeter"}`)
	cfg := config.New(config.WithSource(etcd.NewSource(c, etcd.WithPath("/flat/"), etcd.WithPrefix(true))))
	defer cfg.Close()
	if err := cfg.Load(); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"db.host": "db.local", "db.port": "5432", "name": "greeter"} {
		t.Run(key, func(t *testing.T) {
			if got, err := cfg.Value(key).String(); err != nil || got != want {
				t.Errorf("Value(%q) = %q, %v; want %q", key, got, err, want)
			}
		})
	}
}

func TestWithFormat(t *testing.T) {
	c := startEtcd(t)
	put(t, c, "/formatted", "name: greeter")
	cfg := config.New(config.WithSource(etcd.NewSource(c, etcd.WithPath("/formatted"), etcd.WithFormat("yaml"))))
	defer cfg.Close()
	if err := cfg.Load(); err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.Value("name").String(); got != "greeter" {
		t.Errorf("name = %q", got)
	}
}

func TestErrors(t *testing.T) {
	c := startEtcd(t)
	tests := []struct {
		name string
		src  config.Source
		want string
	}{
		{"nil client", etcd.NewSource(nil, etcd.WithPath("/x")), "etcd: nil client"},
		{"no path", etcd.NewSource(c), "etcd: no key"},
		{"missing key", etcd.NewSource(c, etcd.WithPath("/missing.yaml")), "etcd: key /missing.yaml not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.src.Load()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		dead, err := clientv3.New(clientv3.Config{
			Endpoints: []string{"http://" + freePort(t)}, DialTimeout: time.Second, Logger: zap.NewNop(),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer dead.Close()
		src := etcd.NewSource(dead, etcd.WithPath("/x"), etcd.WithTimeout(300*time.Millisecond))
		if _, err := src.Watch(); err == nil || !strings.HasPrefix(err.Error(), "etcd: get /x") {
			t.Errorf("Watch: %v", err)
		}
	})
}

// TestCompaction checks that a watcher whose history was compacted away
// reads the current state instead of failing for ever.
func TestCompaction(t *testing.T) {
	c := startEtcd(t)
	put(t, c, "/compact/app.yaml", "v: 1")
	src := etcd.NewSource(c, etcd.WithPath("/compact/app.yaml"))
	w, err := src.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	put(t, c, "/compact/app.yaml", "v: 2")
	put(t, c, "/compact/app.yaml", "v: 3")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := c.Get(ctx, "/compact/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	kvs, err := w.Next()
	if err != nil {
		t.Fatalf("Next after compaction: %v", err)
	}
	if len(kvs) != 1 || string(kvs[0].Value) != "v: 3" {
		t.Errorf("Next = %v", kvs)
	}
}
