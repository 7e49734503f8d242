package apollo_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/apollo"
	"github.com/zelos-go/zelos/log"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testApp    = "demo"
	testSecret = "s3cret"
)

// newTestFake serves the tutorial's three namespaces.
func newTestFake(t *testing.T, secret string) *fakeApollo {
	t.Helper()
	f := newFakeApollo(t, testApp, "default", secret)
	f.publish("application", map[string]string{"name": "demo", "http.port": "8000", "debug": "true"})
	f.publish("mysql", map[string]string{"dsn": "root@tcp(db:3306)/demo", "pool.size": "10"})
	f.publish("redis", map[string]string{"addr": "redis:6379", "zip": "007"})
	return f
}

func newTestSource(f *fakeApollo, secret string, namespaces ...string) *apollo.Source {
	if len(namespaces) == 0 {
		namespaces = []string{"application", "mysql", "redis"}
	}
	return apollo.NewSource(
		apollo.WithAppID(testApp),
		apollo.WithCluster("default"),
		apollo.WithEndpoint(f.srv.URL),
		apollo.WithNamespace(namespaces...),
		apollo.WithSecret(secret),
	)
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

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func wantString(t *testing.T, c config.Config, key, want string) {
	t.Helper()
	got, err := c.Value(key).String()
	if err != nil || got != want {
		t.Errorf("%s = %q, %v; want %q", key, got, err, want)
	}
}

func TestLoad(t *testing.T) {
	f := newTestFake(t, testSecret)
	c := loadConfig(t, newTestSource(f, testSecret))

	t.Run("namespaced keys", func(t *testing.T) {
		wantString(t, c, "mysql.dsn", "root@tcp(db:3306)/demo")
		wantString(t, c, "redis.addr", "redis:6379")
		wantString(t, c, "application.name", "demo")
	})
	t.Run("application at the top level", func(t *testing.T) {
		wantString(t, c, "name", "demo")
		wantString(t, c, "http.port", "8000")
		if c.Value("dsn").Load() != nil {
			t.Error("mysql's keys must not appear at the top level")
		}
	})
	t.Run("canonical literals are typed", func(t *testing.T) {
		var got struct {
			HTTP  struct{ Port int }
			Debug bool
			MySQL struct {
				Pool struct{ Size int }
			} `json:"mysql"`
			Redis struct{ Zip string }
		}
		if err := c.Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got.HTTP.Port != 8000 || !got.Debug || got.MySQL.Pool.Size != 10 || got.Redis.Zip != "007" {
			t.Errorf("scanned %+v", got)
		}
	})
	t.Run("requests", func(t *testing.T) {
		for _, r := range f.requestLog() {
			if strings.HasPrefix(r, "GET /configs/demo/default/") {
				return
			}
		}
		t.Errorf("no read of /configs/demo/default/...: %q", f.requestLog())
	})
}

func TestFormats(t *testing.T) {
	f := newFakeApollo(t, testApp, "default", "")
	f.publish("application", map[string]string{"name": "props"})
	f.publish("redis.yaml", map[string]string{"content": "addr: redis:6379\npool:\n  size: 5\n"})
	f.publish("db.json", map[string]string{"content": `{"dsn": "x", "replicas": ["a", "b"]}`})
	f.publish("notes.txt", map[string]string{"content": "hello"})
	f.publish("FX.apollo", map[string]string{"timeout": "3s"})
	c := loadConfig(t, newTestSource(f, "", "application.properties", "redis.yaml", "db.json", "notes.txt", "FX.apollo"))

	wantString(t, c, "name", "props")
	wantString(t, c, "redis.addr", "redis:6379")
	wantString(t, c, "redis.pool.size", "5")
	wantString(t, c, "db.dsn", "x")
	wantString(t, c, "db.replicas.1", "b")
	wantString(t, c, "notes", "hello")
	wantString(t, c, "FX.apollo.timeout", "3s")
	for _, r := range f.requestLog() {
		if strings.Contains(r, "application.properties") {
			t.Errorf("a properties namespace is requested without its extension: %s", r)
		}
	}
}

func TestSignature(t *testing.T) {
	f := newTestFake(t, testSecret)
	t.Run("right secret", func(t *testing.T) {
		if _, err := newTestSource(f, testSecret).Load(); err != nil {
			t.Fatal(err)
		}
	})
	for name, secret := range map[string]string{"wrong secret": "nope", "no secret": ""} {
		t.Run(name, func(t *testing.T) {
			_, err := newTestSource(f, secret).Load()
			if err == nil || !strings.Contains(err.Error(), "401") || !strings.HasPrefix(err.Error(), "apollo: ") {
				t.Fatalf("Load = %v, want an apollo: ... 401 error", err)
			}
		})
	}
	t.Run("watch polls are signed", func(t *testing.T) {
		s := newTestSource(f, testSecret)
		w, err := s.Watch()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		next := goNext(w)
		f.publish("mysql", map[string]string{"dsn": "signed"})
		r := waitNext(t, next)
		if r.err != nil {
			t.Fatal(r.err)
		}
	})
}

func TestWatchObserver(t *testing.T) {
	f := newTestFake(t, testSecret)
	c := loadConfig(t, newTestSource(f, testSecret))
	got := make(chan string, 4)
	if err := c.Watch("mysql.dsn", func(_ string, v config.Value) {
		s, _ := v.String()
		got <- s
	}); err != nil {
		t.Fatal(err)
	}
	f.publish("mysql", map[string]string{"dsn": "root@tcp(db2:3306)/demo", "pool.size": "10"})
	select {
	case v := <-got:
		if v != "root@tcp(db2:3306)/demo" {
			t.Errorf("observer got %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change within 10s")
	}
	wantString(t, c, "mysql.dsn", "root@tcp(db2:3306)/demo")
	wantString(t, c, "name", "demo")

	// The unchanged namespaces were read again with their releaseKey and
	// cost a 304 each.
	if n := f.notModifiedConfigs(); n < 2 {
		t.Errorf("%d 304 answers to /configs, want at least 2 (application and redis)", n)
	}
	var sawMessages bool
	for _, r := range f.requestLog() {
		sawMessages = sawMessages || (strings.Contains(r, "/configs/demo/default/mysql?") && strings.Contains(r, "messages="))
	}
	if !sawMessages {
		t.Error("the read after a notification does not carry its messages")
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

func valueOf(kvs []*config.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return string(kv.Value)
		}
	}
	return ""
}

func TestWatcher(t *testing.T) {
	f := newTestFake(t, "")
	s := newTestSource(f, "")
	w, err := s.Watch()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("next waits for a change", func(t *testing.T) {
		next := goNext(w)
		// Several polls come back 304 (hold is 500ms) before the release.
		select {
		case r := <-next:
			t.Fatalf("Next returned before any change: %v", r)
		case <-time.After(1200 * time.Millisecond):
		}
		f.publish("redis", map[string]string{"addr": "redis2:6379"})
		r := waitNext(t, next)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if v := valueOf(r.kvs, "redis"); !strings.Contains(v, "redis2:6379") {
			t.Errorf("redis = %s", v)
		}
	})
	t.Run("a release with the same content is no change", func(t *testing.T) {
		next := goNext(w)
		f.publish("redis", map[string]string{"addr": "redis2:6379"})
		time.Sleep(300 * time.Millisecond)
		f.publish("redis", map[string]string{"addr": "redis3:6379"})
		r := waitNext(t, next)
		if v := valueOf(r.kvs, "redis"); r.err != nil || !strings.Contains(v, "redis3:6379") {
			t.Errorf("Next = %s, %v; want redis3", v, r.err)
		}
	})
	t.Run("stop unblocks next", func(t *testing.T) {
		f.setHold(time.Minute)
		next := goNext(w)
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		if err := w.Stop(); err != nil {
			t.Fatal(err)
		}
		r := waitNext(t, next)
		if r.err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("Next after Stop = %v after %v", r.err, time.Since(start))
		}
		if _, err := w.Next(); err == nil {
			t.Error("Next on a stopped watcher returned no error")
		}
		if err := w.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

func TestChangeBetweenWatchAndNext(t *testing.T) {
	f := newTestFake(t, "")
	w, err := newTestSource(f, "").Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	f.publish("mysql", map[string]string{"dsn": "early"})
	r := waitNext(t, goNext(w))
	if v := valueOf(r.kvs, "mysql"); r.err != nil || !strings.Contains(v, "early") {
		t.Errorf("Next = %s, %v", v, r.err)
	}
}

func TestBadPayloadKeepsLastGood(t *testing.T) {
	f := newFakeApollo(t, testApp, "default", "")
	f.publish("redis.yaml", map[string]string{"content": "addr: good\n"})
	var logs lockedBuffer
	c := config.New(config.WithSource(newTestSource(f, "", "redis.yaml")), config.WithLogger(log.NewStdLogger(&logs)))
	defer c.Close()
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	changed := make(chan string, 4)
	_ = c.Watch("redis.addr", func(_ string, v config.Value) {
		s, _ := v.String()
		changed <- s
	})

	f.publish("redis.yaml", map[string]string{"content": "addr: [unclosed\n"})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "redis.yaml") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "decode as yaml") {
		t.Errorf("the bad release was not reported: %q", logs.String())
	}
	wantString(t, c, "redis.addr", "good")

	f.publish("redis.yaml", map[string]string{"content": "addr: fixed\n"})
	select {
	case v := <-changed:
		if v != "fixed" {
			t.Errorf("observer got %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fixed release did not arrive")
	}
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

func TestOutage(t *testing.T) {
	f := newTestFake(t, "")
	w, err := newTestSource(f, "").Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	t.Run("a failing poll is an error", func(t *testing.T) {
		f.fail(http.StatusServiceUnavailable)
		r := waitNext(t, goNext(w))
		if r.err == nil || !strings.Contains(r.err.Error(), "503") {
			t.Fatalf("Next = %v, want a 503 error", r.err)
		}
	})
	t.Run("a release made during the outage is reported after it", func(t *testing.T) {
		f.publish("mysql", map[string]string{"dsn": "during-outage"})
		f.fail(0)
		r := waitNext(t, goNext(w))
		if v := valueOf(r.kvs, "mysql"); r.err != nil || !strings.Contains(v, "during-outage") {
			t.Errorf("Next = %s, %v", v, r.err)
		}
	})
	t.Run("an unpublished namespace has no keys", func(t *testing.T) {
		// The namespace's release is gone: the read after the notification
		// answers 404 and the namespace drops out; the others stay.
		f.unpublish("redis")
		r := waitNext(t, goNext(w))
		if r.err != nil || valueOf(r.kvs, "redis") != "" || !strings.Contains(valueOf(r.kvs, "mysql"), "during-outage") {
			t.Fatalf("Next = %v, %v; want mysql and no redis", r.kvs, r.err)
		}
		f.publish("redis", map[string]string{"addr": "back"})
		r = waitNext(t, goNext(w))
		if v := valueOf(r.kvs, "redis"); r.err != nil || !strings.Contains(v, "back") {
			t.Errorf("Next = %s, %v", v, r.err)
		}
	})
	t.Run("no namespace left is an error", func(t *testing.T) {
		for _, ns := range []string{"application", "mysql", "redis"} {
			f.unpublish(ns)
		}
		r := waitNext(t, goNext(w))
		if r.err == nil || !strings.Contains(r.err.Error(), "no namespace") {
			t.Fatalf("Next = %v, want a no-namespace error", r.err)
		}
	})
}

func TestErrors(t *testing.T) {
	f := newTestFake(t, "")
	cases := []struct {
		name string
		opts []apollo.Option
		want string
	}{
		{"no app", []apollo.Option{apollo.WithEndpoint(f.srv.URL)}, "WithAppID"},
		{"no endpoint", []apollo.Option{apollo.WithAppID(testApp)}, "WithEndpoint"},
		{"bad endpoint", []apollo.Option{apollo.WithAppID(testApp), apollo.WithEndpoint("apollo:8080")}, "not an http"},
		{"empty cluster", []apollo.Option{apollo.WithAppID(testApp), apollo.WithEndpoint(f.srv.URL), apollo.WithCluster("")}, "cluster"},
		{"empty namespace", []apollo.Option{apollo.WithAppID(testApp), apollo.WithEndpoint(f.srv.URL), apollo.WithNamespace("")}, "empty namespace"},
		{"twice", []apollo.Option{apollo.WithAppID(testApp), apollo.WithEndpoint(f.srv.URL), apollo.WithNamespace("mysql", "mysql.properties")}, "twice"},
		{"unknown namespace", []apollo.Option{apollo.WithAppID(testApp), apollo.WithEndpoint(f.srv.URL), apollo.WithNamespace("nope")}, "404"},
		{"unknown app", []apollo.Option{apollo.WithAppID("other"), apollo.WithEndpoint(f.srv.URL)}, "404"},
		{"not apollo", []apollo.Option{apollo.WithAppID(testApp), apollo.WithEndpoint(f.srv.URL + "/elsewhere")}, "404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := apollo.NewSource(tc.opts...)
			_, lerr := s.Load()
			w, werr := s.Watch()
			if w != nil {
				_ = w.Stop()
			}
			for _, err := range []error{lerr, werr} {
				if err == nil || !strings.HasPrefix(err.Error(), "apollo: ") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error = %v, want apollo: ...%s...", err, tc.want)
				}
			}
		})
	}
	t.Run("conflicting properties", func(t *testing.T) {
		f.publish("mysql", map[string]string{"db": "x", "db.host": "y"})
		_, err := newTestSource(f, "", "mysql").Load()
		if err == nil || !strings.Contains(err.Error(), `"db.host"`) {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("a body that is not JSON", func(t *testing.T) {
		srv := newFakeApollo(t, testApp, "default", "")
		srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>login</html>"))
		})
		_, err := newTestSource(srv, "", "mysql").Load()
		if err == nil || !strings.Contains(err.Error(), "decode answer") {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("server unreachable", func(t *testing.T) {
		srv := newFakeApollo(t, testApp, "default", "")
		srv.close()
		_, err := newTestSource(srv, "", "mysql").Load()
		if err == nil || !strings.HasPrefix(err.Error(), "apollo: read namespace") {
			t.Errorf("Load = %v", err)
		}
	})
}

func TestString(t *testing.T) {
	s := apollo.NewSource(apollo.WithAppID("a"), apollo.WithEndpoint("http://h:8080"))
	if got := s.String(); got != "apollo a/default at http://h:8080" {
		t.Errorf("String = %q", got)
	}
}
