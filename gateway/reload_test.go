package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// writeAtomic replaces path's content in one rename, as editors and
// ConfigMap updates do.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// logRecorder keeps the messages logged at error level.
type logRecorder struct {
	mu   sync.Mutex
	errs []string
}

func (l *logRecorder) Log(level log.Level, kv ...any) error {
	if level < log.LevelError {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprint(kv...))
	return nil
}

func (l *logRecorder) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.errs, "\n")
}

func TestReloadUnderLoad(t *testing.T) {
	a := echoBackend(t, "a")
	b := echoBackend(t, "b")
	c := echoBackend(t, "c")
	reg := registry.NewInMemory()
	for i, s := range []*httptest.Server{b, c} {
		if err := reg.Register(context.Background(), &registry.ServiceInstance{ID: fmt.Sprint("i", i), Name: fmt.Sprint("svc", i), Endpoints: []string{s.URL}}); err != nil {
			t.Fatal(err)
		}
	}
	conf := func(i int) string {
		changed := "discovery:///svc0"
		if i%2 == 1 {
			changed = "discovery:///svc1"
		}
		return fmt.Sprintf(`
endpoints:
  - {path: /stable, backends: [{target: %s}]}
  - {path: /changed, backends: [{target: %q}]}
  - {path: /dyn/%d, backends: [{target: "discovery:///svc%d"}]}
`, a.URL, changed, i, i%2)
	}
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	writeAtomic(t, path, conf(0))
	rec := &logRecorder{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(path, WithDiscovery(reg), WithLogger(rec), ServerOptions(listenerOpt(lis)))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Start(context.Background()) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Stop(ctx)
	}()
	url := "http://" + lis.Addr().String()

	var ok, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := "/stable"
			if w%2 == 1 {
				p = "/changed"
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Get(url + p)
				if err != nil {
					failed.Add(1)
					failures.Store(err.Error(), true)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
					failures.Store(fmt.Sprint(p, " ", res.StatusCode), true)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	poolOf := func(p string) *pool {
		r, _ := http.NewRequest(http.MethodGet, p, nil)
		ep, _ := g.cur.Load().match(r, http.MethodGet)
		if ep == nil {
			return nil
		}
		return ep.pool
	}
	first := poolOf("/stable")
	waitFor := func(p string, code int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := client.Get(url + p)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				if res.StatusCode == code {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never answered %d", p, code)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := 1; i <= 20; i++ {
		if i == 10 {
			// An invalid file mid-way is refused; the running routes stay.
			writeAtomic(t, path, "endpoints:\n  - path: /broken\n    backends: [{target: nowhere}]\n")
			time.Sleep(300 * time.Millisecond)
			waitFor("/dyn/9", 200)
		}
		writeAtomic(t, path, conf(i))
		waitFor(fmt.Sprint("/dyn/", i), 200)
		waitFor(fmt.Sprint("/dyn/", i-1), 404)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		var list []string
		failures.Range(func(k, _ any) bool { list = append(list, k.(string)); return true })
		t.Fatalf("%d of %d requests failed during 20 reloads: %v", n, n+ok.Load(), list)
	}
	if ok.Load() < 100 {
		t.Fatalf("only %d requests ran", ok.Load())
	}
	if poolOf("/stable") != first {
		t.Fatal("the unchanged backend's pool was not reused")
	}
	if logs := rec.all(); !strings.Contains(logs, "gateway.yaml:3: endpoints[0].backends[0].target") {
		t.Fatalf("the refused file's problem is not logged with its line:\n%s", logs)
	}
	t.Logf("%d requests, 0 failed, during 20 reloads and 1 refused file", ok.Load())
}
