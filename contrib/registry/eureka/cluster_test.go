package eureka_test

import (
	"testing"

	"github.com/zelos-go/zelos/contrib/registry/eureka"
	"github.com/zelos-go/zelos/internal/clustertest"
	"github.com/zelos-go/zelos/registry"
)

// TestCluster runs the shared cluster scenario on the fake Eureka: three
// echo instances with leases of 1s, one discovery client that fetches
// every 50ms, graceful stop, crash and scale-out under continuous calls.
func TestCluster(t *testing.T) {
	f := newFakeEureka(t)
	clustertest.Run(t, clustertest.Env{
		NewRegistrar: func(tb testing.TB) (registry.Registrar, func()) {
			r, err := eureka.New([]string{f.url()}, eureka.WithLease(lease), eureka.WithHeartbeat(heartbeat))
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { _ = r.Close() })
			// A dead process never deregisters: Crashable makes sure the
			// App's stop at the end of the test does not either; Close
			// stops its heartbeats.
			reg, abandon := clustertest.Crashable(r)
			return reg, func() {
				abandon()
				_ = r.Close()
			}
		},
		Discovery: newRegistry(t, f),
		// The lease, plus one refresh of the client's watcher.
		TTL: lease + refresh,
	})
}
