package etcd_test

import (
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/registry/registrytest"
)

// TestContract holds the etcd registry to the contract of every registry,
// on an embedded etcd. Each Registrar has a client of its own, so that
// Crash, which closes that client without deregistering, leaves the lease
// to expire after the TTL, as when a process dies.
func TestContract(t *testing.T) {
	s := startServer(t)
	var (
		mu      sync.Mutex
		clients = make(map[registry.Registrar]*clientv3.Client)
	)
	registrytest.Run(t, registrytest.Harness{
		NewRegistrar: func(t *testing.T) registry.Registrar {
			c := newClient(t, s)
			r := etcd.New(c, etcd.RegisterTTL(ttl))
			mu.Lock()
			clients[r] = c
			mu.Unlock()
			return r
		},
		NewDiscovery: func(t *testing.T) registry.Discovery { return etcd.New(newClient(t, s)) },
		Crash: func(t *testing.T, r registry.Registrar) {
			mu.Lock()
			c := clients[r]
			mu.Unlock()
			if err := c.Close(); err != nil {
				t.Logf("close the crashed client: %v", err)
			}
		},
		// etcd checks leases every 500ms and CI is a loaded machine: the
		// TTL plus a few seconds.
		Expiry: ttl + 4*time.Second,
		Restart: func(t *testing.T) {
			s.stop()
			s.restart(t)
		},
		Wait: wait,
	})
}
