package consul_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/contrib/registry/consul"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/registry/registrytest"
)

// TestContract holds the Consul registry to the contract of every registry,
// on the fake Consul HTTP API. Crash ends a Registry's heartbeats without
// deregistering, so its TTL check goes critical and the instance drops out
// of the passing list; Restart is an agent that comes back without its
// state, so the heartbeats register the instances again.
func TestContract(t *testing.T) {
	const ttl = time.Second
	f := newFakeConsul(t)
	var (
		mu      sync.Mutex
		crashes = make(map[registry.Registrar]context.CancelFunc)
	)
	registrytest.Run(t, registrytest.Harness{
		NewRegistrar: func(t *testing.T) registry.Registrar {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			r := consul.New(f.client(t), consul.WithTTL(ttl), consul.WithContext(ctx))
			mu.Lock()
			crashes[r] = cancel
			mu.Unlock()
			return r
		},
		NewDiscovery: func(t *testing.T) registry.Discovery { return consul.New(f.client(t)) },
		Crash: func(_ *testing.T, r registry.Registrar) {
			mu.Lock()
			crash := crashes[r]
			mu.Unlock()
			crash()
		},
		// The check goes critical one TTL after the last heartbeat, which
		// is at most half a TTL old; the rest is slack for a loaded CI.
		Expiry:  ttl + 3*time.Second,
		Restart: func(*testing.T) { f.restart() },
		Wait:    wait,
	})
}
