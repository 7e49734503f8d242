package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/registry"
)

// TestBackendDiesUnderLoad kills one of three instances (its listener and
// connections close; it stays in the registry, as a crashed process does
// until its lease expires) while GETs and idempotent POSTs flow. Retries go
// to instances not tried yet, outlier ejection takes the dead one out, and
// the error rate once it is detected stays under 1%.
func TestBackendDiesUnderLoad(t *testing.T) {
	reg := registry.NewInMemory()
	var servers []*httptest.Server
	for i := range 3 {
		s := echoBackend(t, fmt.Sprint("n", i))
		servers = append(servers, s)
		if err := reg.Register(context.Background(), &registry.ServiceInstance{ID: fmt.Sprint("n", i), Name: "product.service", Endpoints: []string{s.URL}}); err != nil {
			t.Fatal(err)
		}
	}
	_, url := startGateway(t, `
policies:
  retry: {retry: {attempts: 3, delay: 1ms, budget_ratio: 0.5}}
  breaker: {breaker: {failure_ratio: 0.5, min_requests: 20}}
endpoints:
  - {prefix: /api/v1/products, policies: [breaker, retry], backends: [{target: "discovery:///product.service"}]}
`, WithDiscovery(reg))

	type window struct{ ok, failed atomic.Int64 }
	var before, after window
	var killedAt atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var req *http.Request
				if w%2 == 0 {
					req, _ = http.NewRequest(http.MethodGet, url+"/api/v1/products/1", nil)
				} else {
					req, _ = http.NewRequest(http.MethodPost, url+"/api/v1/products", nil)
					req.Header.Set("Idempotency-Key", fmt.Sprint(w, "-", i))
				}
				res, err := client.Do(req)
				win := &before
				if k := killedAt.Load(); k != 0 && time.Since(time.Unix(0, k)) > 100*time.Millisecond {
					win = &after // detection window over
				}
				if err != nil {
					win.failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				if res.StatusCode != 200 {
					win.failed.Add(1)
					continue
				}
				win.ok.Add(1)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	servers[1].CloseClientConnections()
	servers[1].Listener.Close()
	killedAt.Store(time.Now().UnixNano())
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	servers[1].Close()
	total := after.ok.Load() + after.failed.Load()
	rate := float64(after.failed.Load()) / float64(max(total, 1))
	t.Logf("before and during detection: %d ok, %d failed; after: %d ok, %d failed (%.3f%%)",
		before.ok.Load(), before.failed.Load(), after.ok.Load(), after.failed.Load(), 100*rate)
	if total < 100 {
		t.Fatalf("only %d requests after the kill", total)
	}
	if rate >= 0.01 {
		t.Fatalf("error rate %.2f%% once the dead instance is detected", 100*rate)
	}
}
