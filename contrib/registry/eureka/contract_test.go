package eureka_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/contrib/registry/eureka"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The tests' timings: a lease of one second renewed three times a second,
// and watchers that fetch twenty times a second.
const (
	lease     = time.Second
	heartbeat = 300 * time.Millisecond
	refresh   = 50 * time.Millisecond
	wait      = 10 * time.Second
)

// newRegistry returns a Registry of f that is closed when the test ends.
func newRegistry(t *testing.T, f *fakeEureka, opts ...eureka.Option) *eureka.Registry {
	t.Helper()
	opts = append([]eureka.Option{eureka.WithLease(lease), eureka.WithHeartbeat(heartbeat), eureka.WithRefresh(refresh)}, opts...)
	r, err := eureka.New([]string{f.url()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestContract holds the Eureka registry to the contract of every
// registry, on the fake REST API. Crash closes a Registry, which stops its
// heartbeats without deregistering, so the fake evicts its instances once
// their lease runs out; Restart is a server that comes back empty, as
// Eureka does, so heartbeats answered 404 register the instances again.
func TestContract(t *testing.T) {
	f := newFakeEureka(t)
	registrytest.Run(t, registrytest.Harness{
		NewRegistrar: func(t *testing.T) registry.Registrar { return newRegistry(t, f) },
		NewDiscovery: func(t *testing.T) registry.Discovery { return newRegistry(t, f) },
		Crash:        func(_ *testing.T, r registry.Registrar) { _ = r.(*eureka.Registry).Close() },
		// The lease plus the time a watcher takes to see the eviction,
		// and slack for a loaded CI.
		Expiry:  lease + 3*time.Second,
		Restart: func(*testing.T) { f.restart() },
		Wait:    wait,
	})
}
