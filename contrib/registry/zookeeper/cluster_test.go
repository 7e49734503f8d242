package zookeeper_test

import (
	"testing"

	"github.com/zelos-go/zelos/contrib/registry/zookeeper"
	"github.com/zelos-go/zelos/internal/clustertest"
	"github.com/zelos-go/zelos/registry"
)

// TestCluster runs the shared cluster scenario on a real ZooKeeper: three
// echo instances with sessions of 2s, one discovery client, graceful stop,
// crash and scale-out under continuous calls.
func TestCluster(t *testing.T) {
	s := startServer(t)
	clustertest.Run(t, clustertest.Env{
		NewRegistrar: func(tb testing.TB) (registry.Registrar, func()) {
			// Each instance has its own session, as a process would: cutting
			// its network lets ZooKeeper expire the session.
			d := new(cutDialer)
			r, err := zookeeper.New([]string{s.addr}, zookeeper.WithSessionTimeout(sessionTimeout), zookeeper.WithDialer(d.dial))
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { _ = r.Close() })
			// A dead process never deregisters: Crashable makes sure the
			// App's stop at the end of the test does not either.
			reg, abandon := clustertest.Crashable(r)
			return reg, func() {
				abandon()
				d.setCut(true)
			}
		},
		Discovery: newRegistry(t, s),
		// ZooKeeper expires sessions on tick boundaries after the timeout.
		TTL: sessionTimeout,
	})
}
