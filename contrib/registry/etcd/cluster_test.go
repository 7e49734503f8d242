package etcd_test

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/internal/clustertest"
	"github.com/zelos-go/zelos/registry"
)

// TestCluster runs the shared cluster scenario on a real embedded etcd:
// three echo instances registered with 2s leases, one discovery client,
// graceful stop, crash and scale-out under continuous calls.
func TestCluster(t *testing.T) {
	s := startServer(t)
	clustertest.Run(t, clustertest.Env{
		NewRegistrar: func(t testing.TB) (registry.Registrar, func()) {
			// Each instance has its own client, as a process would: closing
			// it abandons the lease, which then expires after the TTL.
			c, err := clientv3.New(clientv3.Config{
				Endpoints:   []string{s.endpoint},
				DialTimeout: 5 * time.Second,
				Logger:      zap.NewNop(),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			// A dead process never deregisters: Crashable makes sure the
			// App's stop at the end of the test does not either.
			r, abandon := clustertest.Crashable(etcd.New(c, etcd.RegisterTTL(ttl)))
			return r, func() {
				abandon()
				_ = c.Close()
			}
		},
		Discovery: etcd.New(newClient(t, s)),
		TTL:       ttl,
	})
}
