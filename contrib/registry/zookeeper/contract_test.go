package zookeeper_test

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/contrib/registry/zookeeper"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sessionTimeout is the session timeout of the tests' registries.
const sessionTimeout = 2 * time.Second

// wait bounds the tests' "eventually" checks; generous for a loaded CI.
const wait = 20 * time.Second

// newRegistry returns a Registry on s that is closed when the test ends.
func newRegistry(t *testing.T, s *server, opts ...zookeeper.Option) *zookeeper.Registry {
	t.Helper()
	opts = append([]zookeeper.Option{zookeeper.WithSessionTimeout(sessionTimeout)}, opts...)
	r, err := zookeeper.New([]string{s.addr}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestContract holds the ZooKeeper registry to the contract of every
// registry, on a real ZooKeeper. Crash cuts a Registry's network off, so
// ZooKeeper expires its session and deletes its ephemeral znodes; Restart
// kills the server and starts it again on the same data.
func TestContract(t *testing.T) {
	s := startServer(t)
	var (
		mu      sync.Mutex
		dialers = make(map[registry.Registrar]*cutDialer)
	)
	registrytest.Run(t, registrytest.Harness{
		NewRegistrar: func(t *testing.T) registry.Registrar {
			d := new(cutDialer)
			r := newRegistry(t, s, zookeeper.WithDialer(d.dial), zookeeper.WithLogger(tlog{t}))
			mu.Lock()
			dialers[r] = d
			mu.Unlock()
			return r
		},
		NewDiscovery: func(t *testing.T) registry.Discovery { return newRegistry(t, s) },
		Crash: func(t *testing.T, r registry.Registrar) {
			mu.Lock()
			d := dialers[r]
			mu.Unlock()
			d.setCut(true)
		},
		// ZooKeeper expires sessions on tick boundaries: the session
		// timeout plus a few seconds for a loaded machine.
		Expiry:  sessionTimeout + 5*time.Second,
		Restart: func(*testing.T) { s.restart() },
		Wait:    wait,
	})
}

// tlog is a log.Logger that writes to the test log.
type tlog struct{ t *testing.T }

func (l tlog) Log(level log.Level, kv ...any) error {
	l.t.Log(append([]any{level.String()}, kv...)...)
	return nil
}
