package nacos_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/nacos"
	"github.com/zelos-go/zelos/contrib/config/nacos/nacostest"
	"github.com/zelos-go/zelos/log"
)

// logDir holds the SDK's log for the whole run: its logger is global and
// may write after a test's own temporary directory is gone.
var logDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nacos-log")
	if err != nil {
		panic(err)
	}
	logDir = dir
	code := m.Run()
	if code == 0 {
		_ = os.RemoveAll(dir)
	} else {
		println("the SDK's log is in", dir)
	}
	if code == 0 {
		if err := goleak.Find(sdkGoroutines...); err != nil {
			println("goleak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// sdkGoroutines are goroutines the SDK starts once per process and never
// stops: they are not the Source's to end.
var sdkGoroutines = []goleak.Option{
	// The SDK's global logger rotates its file with lumberjack, whose
	// goroutine lives as long as the logger: one per SDK client made.
	goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"),
	// A wake-up of the SDK's listen loop that comes as the client closes
	// blocks forever on the loop's unbuffered channel (config_client.go,
	// asyncNotifyListenConfig): an SDK leak of one goroutine per close.
	goleak.IgnoreTopFunction("github.com/nacos-group/nacos-sdk-go/v2/clients/config_client.(*ConfigClient).asyncNotifyListenConfig.func1"),
}

// cacheDir is a directory of the test's own for the SDK's snapshots, under
// logDir: the SDK may still write one as a test ends, which would fail the
// cleanup of t.TempDir.
func cacheDir(t *testing.T) string {
	dir, err := os.MkdirTemp(logDir, "cache")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func newFake(t *testing.T) *nacostest.Server {
	t.Helper()
	srv, err := nacostest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func clientConfig(t *testing.T) constant.ClientConfig {
	return constant.ClientConfig{
		TimeoutMs:           3000,
		NotLoadCacheAtStart: true,
		DisableUseSnapShot:  true,
		CacheDir:            cacheDir(t),
		LogDir:              logDir,
		LogLevel:            "warn",
	}
}

func newSource(t *testing.T, srv *nacostest.Server, dataID string, opts ...nacos.Option) *nacos.Source {
	t.Helper()
	return nacos.NewConfigSource(append([]nacos.Option{
		nacos.WithServerConfig([]constant.ServerConfig{srv.ServerConfig()}),
		nacos.WithClientConfig(clientConfig(t)),
		nacos.WithDataId(dataID),
		nacos.WithGroup("DEFAULT_GROUP"),
	}, opts...)...)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func loadConfig(t *testing.T, s config.Source) config.Config {
	t.Helper()
	c := config.New(config.WithSource(s), config.WithLogger(log.NewStdLogger(testWriter{t})))
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func wantString(t *testing.T, c config.Config, key, want string) {
	t.Helper()
	got, err := c.Value(key).String()
	if err != nil || got != want {
		t.Errorf("%s = %q, %v; want %q", key, got, err, want)
	}
}

func TestLoad(t *testing.T) {
	srv := newFake(t)
	t.Run("yaml", func(t *testing.T) {
		srv.PublishConfig("", "DEFAULT_GROUP", "load.yaml", "http:\n  addr: :8000\ndata:\n  dsn: root@db\n")
		c := loadConfig(t, newSource(t, srv, "load.yaml"))
		wantString(t, c, "http.addr", ":8000")
		wantString(t, c, "data.dsn", "root@db")
	})
	t.Run("json", func(t *testing.T) {
		srv.PublishConfig("", "DEFAULT_GROUP", "load.JSON", `{"http": {"addr": ":9000"}}`)
		c := loadConfig(t, newSource(t, srv, "load.JSON"))
		wantString(t, c, "http.addr", ":9000")
	})
	t.Run("no extension", func(t *testing.T) {
		srv.PublishConfig("", "DEFAULT_GROUP", "banner", "hello")
		c := loadConfig(t, newSource(t, srv, "banner"))
		wantString(t, c, "banner", "hello")
	})
	t.Run("namespace and group", func(t *testing.T) {
		srv.PublishConfig("dev", "PAYMENTS", "load.yaml", "name: dev-payments\n")
		srv.PublishConfig("", "PAYMENTS", "load.yaml", "name: public-payments\n")
		cc := clientConfig(t)
		cc.NamespaceId = "dev"
		c := loadConfig(t, newSource(t, srv, "load.yaml", nacos.WithGroup("PAYMENTS"), nacos.WithClientConfig(cc)))
		wantString(t, c, "name", "dev-payments")
	})
	t.Run("missing data ID is empty", func(t *testing.T) {
		kvs, err := newSource(t, srv, "missing.yaml").Load()
		if err != nil || len(kvs) != 1 || len(kvs[0].Value) != 0 || kvs[0].Format != "yaml" {
			t.Errorf("Load = %+v, %v", kvs, err)
		}
	})
	t.Run("grpc port", func(t *testing.T) {
		srv.PublishConfig("", "DEFAULT_GROUP", "port.yaml", "name: by-grpc-port\n")
		sc := constant.ServerConfig{IpAddr: "127.0.0.1", Port: 8848, GrpcPort: srv.GrpcPort()}
		c := loadConfig(t, newSource(t, srv, "port.yaml", nacos.WithServerConfig([]constant.ServerConfig{sc})))
		wantString(t, c, "name", "by-grpc-port")
	})
}

func TestObserver(t *testing.T) {
	srv := newFake(t)
	srv.PublishConfig("", "DEFAULT_GROUP", "observer.yaml", "name: one\n")
	c := loadConfig(t, newSource(t, srv, "observer.yaml"))
	got := make(chan string, 4)
	if err := c.Watch("name", func(_ string, v config.Value) {
		s, _ := v.String()
		got <- s
	}); err != nil {
		t.Fatal(err)
	}
	listening(t, srv, "observer.yaml")
	srv.PublishConfig("", "DEFAULT_GROUP", "observer.yaml", "name: two\n")
	select {
	case v := <-got:
		if v != "two" {
			t.Errorf("observer got %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change within 10s")
	}
	if n := srv.Requests("ConfigBatchListenRequest"); n == 0 {
		t.Error("the SDK never listened")
	}
}

type nextResult struct {
	kvs []*config.KeyValue
	err error
}

func goNext(w config.Watcher) <-chan nextResult {
	ch := make(chan nextResult, 1)
	go func() {
		kvs, err := w.Next()
		ch <- nextResult{kvs, err}
	}()
	return ch
}

func waitNext(t *testing.T, ch <-chan nextResult) nextResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return within 10s")
		return nextResult{}
	}
}

func content(r nextResult) string {
	if r.err != nil || len(r.kvs) != 1 {
		return "<none>"
	}
	return string(r.kvs[0].Value)
}

func TestWatcher(t *testing.T) {
	srv := newFake(t)
	srv.PublishConfig("", "DEFAULT_GROUP", "watcher.yaml", "v: 1\n")
	w, err := newSource(t, srv, "watcher.yaml").Watch()
	if err != nil {
		t.Fatal(err)
	}
	listening(t, srv, "watcher.yaml")

	t.Run("next waits for a change", func(t *testing.T) {
		next := goNext(w)
		select {
		case r := <-next:
			t.Fatalf("Next returned before any change: %q, %v", content(r), r.err)
		case <-time.After(700 * time.Millisecond):
		}
		srv.PublishConfig("", "DEFAULT_GROUP", "watcher.yaml", "v: 2\n")
		if r := waitNext(t, next); content(r) != "v: 2\n" || r.kvs[0].Format != "yaml" || r.kvs[0].Key != "watcher.yaml" {
			t.Errorf("Next = %+v, %v", r.kvs, r.err)
		}
	})
	t.Run("the same content is no change", func(t *testing.T) {
		next := goNext(w)
		srv.PublishConfig("", "DEFAULT_GROUP", "watcher.yaml", "v: 2\n")
		time.Sleep(300 * time.Millisecond)
		srv.PublishConfig("", "DEFAULT_GROUP", "watcher.yaml", "v: 3\n")
		if r := waitNext(t, next); content(r) != "v: 3\n" {
			t.Errorf("Next = %q, %v", content(r), r.err)
		}
	})
	t.Run("a deleted data ID is empty content", func(t *testing.T) {
		next := goNext(w)
		srv.DeleteConfig("", "DEFAULT_GROUP", "watcher.yaml")
		if r := waitNext(t, next); content(r) != "" {
			t.Errorf("Next = %q, %v", content(r), r.err)
		}
	})
	t.Run("stop unblocks next", func(t *testing.T) {
		next := goNext(w)
		time.Sleep(100 * time.Millisecond)
		if err := w.Stop(); err != nil {
			t.Fatal(err)
		}
		if r := waitNext(t, next); r.err == nil {
			t.Errorf("Next after Stop = %q, nil", content(r))
		}
		if _, err := w.Next(); err == nil {
			t.Error("Next on a stopped watcher returned no error")
		}
		if err := w.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
	t.Run("the client is closed", func(t *testing.T) {
		waitFor(t, "no connection left", func() bool { return srv.Connections() == 0 })
	})
}

// listening waits until the SDK listens to dataID and has had time to take
// in the answer. A change published while the SDK's listen request is in
// flight is lost by the SDK until the watcher's resync (see watcher.go), so
// the tests that expect a push publish after this.
func listening(t *testing.T, srv *nacostest.Server, dataID string) {
	t.Helper()
	waitFor(t, "the SDK listens to "+dataID, func() bool { return srv.Listeners("", "DEFAULT_GROUP", dataID) > 0 })
	time.Sleep(200 * time.Millisecond)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTwoWatchersOneSource(t *testing.T) {
	srv := newFake(t)
	srv.PublishConfig("", "DEFAULT_GROUP", "two.yaml", "v: 1\n")
	s := newSource(t, srv, "two.yaml")
	w1, err := s.Watch()
	if err != nil {
		t.Fatal(err)
	}
	w2, err := s.Watch()
	if err != nil {
		t.Fatal(err)
	}
	listening(t, srv, "two.yaml")
	n1, n2 := goNext(w1), goNext(w2)
	srv.PublishConfig("", "DEFAULT_GROUP", "two.yaml", "v: 2\n")
	if r := waitNext(t, n1); content(r) != "v: 2\n" {
		t.Errorf("first watcher: %q, %v", content(r), r.err)
	}
	if r := waitNext(t, n2); content(r) != "v: 2\n" {
		t.Errorf("second watcher: %q, %v", content(r), r.err)
	}
	_ = w1.Stop()
	// The second watcher still listens after the first stopped.
	n2 = goNext(w2)
	srv.PublishConfig("", "DEFAULT_GROUP", "two.yaml", "v: 3\n")
	if r := waitNext(t, n2); content(r) != "v: 3\n" {
		t.Errorf("second watcher after the first stopped: %q, %v", content(r), r.err)
	}
	_ = w2.Stop()
	waitFor(t, "no connection left", func() bool { return srv.Connections() == 0 })
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBadPayloadKeepsLastGood(t *testing.T) {
	srv := newFake(t)
	srv.PublishConfig("", "DEFAULT_GROUP", "bad.yaml", "name: good\n")
	var logs lockedBuffer
	c := config.New(config.WithSource(newSource(t, srv, "bad.yaml")), config.WithLogger(log.NewStdLogger(&logs)))
	defer c.Close()
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	changed := make(chan string, 4)
	_ = c.Watch("name", func(_ string, v config.Value) {
		s, _ := v.String()
		changed <- s
	})
	listening(t, srv, "bad.yaml")
	srv.PublishConfig("", "DEFAULT_GROUP", "bad.yaml", "name: [unclosed\n")
	waitFor(t, "the bad content reported", func() bool { return strings.Contains(logs.String(), "reload failed") })
	wantString(t, c, "name", "good")

	srv.PublishConfig("", "DEFAULT_GROUP", "bad.yaml", "name: fixed\n")
	select {
	case v := <-changed:
		if v != "fixed" {
			t.Errorf("observer got %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fixed content did not arrive")
	}
}

func TestResyncFindsALostChange(t *testing.T) {
	srv := newFake(t)
	srv.PublishConfig("", "DEFAULT_GROUP", "lost.yaml", "v: 1\n")
	s := newSource(t, srv, "lost.yaml")
	nacos.SetResync(s, 300*time.Millisecond)
	w, err := s.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	listening(t, srv, "lost.yaml")
	srv.MutePushes(true)
	srv.PublishConfig("", "DEFAULT_GROUP", "lost.yaml", "v: 2\n")
	if r := waitNext(t, goNext(w)); content(r) != "v: 2\n" {
		t.Errorf("Next = %q, %v", content(r), r.err)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		opts []nacos.Option
		want string
	}{
		{"no data ID", []nacos.Option{nacos.WithServerConfig([]constant.ServerConfig{{IpAddr: "127.0.0.1", Port: 8848}})}, "WithDataId"},
		{"no server", []nacos.Option{nacos.WithDataId("a.yaml")}, "no server"},
		{"empty group", []nacos.Option{nacos.WithDataId("a.yaml"), nacos.WithGroup(""),
			nacos.WithServerConfig([]constant.ServerConfig{{IpAddr: "127.0.0.1", Port: 8848}})}, "group"},
		{"bad server", []nacos.Option{nacos.WithDataId("a.yaml"),
			nacos.WithServerConfig([]constant.ServerConfig{{IpAddr: "", Port: 8848}})}, "make config client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := nacos.NewConfigSource(tc.opts...)
			_, lerr := s.Load()
			w, werr := s.Watch()
			if w != nil {
				_ = w.Stop()
			}
			for _, err := range []error{lerr, werr} {
				if err == nil || !strings.HasPrefix(err.Error(), "nacos: ") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error = %v, want nacos: ...%s...", err, tc.want)
				}
			}
		})
	}
	t.Run("server down", func(t *testing.T) {
		srv := newFake(t)
		srv.Close()
		cc := clientConfig(t)
		cc.TimeoutMs = 500
		s := newSource(t, srv, "down.yaml", nacos.WithClientConfig(cc))
		_, err := s.Load()
		if err == nil || !strings.HasPrefix(err.Error(), "nacos: get DEFAULT_GROUP/down.yaml") {
			t.Errorf("Load = %v", err)
		}
	})
}

func TestString(t *testing.T) {
	s := nacos.NewConfigSource(nacos.WithDataId("app.yaml"))
	if got := s.String(); got != "nacos DEFAULT_GROUP/app.yaml" {
		t.Errorf("String = %q", got)
	}
}
