//go:build !race

package nacos_test

// The SDK (v2.3.2) has data races in its reconnection: rpc_client.go reads
// RpcClient.rpcClientStatus and currentConnection without synchronization
// while its reconnect goroutine writes them. The race detector reports
// them, in the SDK's code, whenever a client reconnects, so this test runs
// only in builds without -race.

import (
	"testing"
	"time"

	"github.com/zelos-go/zelos/config"
)

func TestServerRestart(t *testing.T) {
	srv := newFake(t)
	srv.PublishConfig("", "DEFAULT_GROUP", "restart.yaml", "v: before\n")
	c := loadConfig(t, newSource(t, srv, "restart.yaml"))
	got := make(chan string, 4)
	_ = c.Watch("v", func(_ string, v config.Value) {
		s, _ := v.String()
		got <- s
	})
	if err := srv.Restart(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// The SDK connects again and listens again; a change published then
	// arrives, whether it comes as a push or in the listen after the
	// reconnection.
	waitFor(t, "the client connected again", func() bool { return srv.Connections() > 0 })
	listening(t, srv, "restart.yaml")
	srv.PublishConfig("", "DEFAULT_GROUP", "restart.yaml", "v: after\n")
	select {
	case v := <-got:
		if v != "after" {
			t.Errorf("observer got %q", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no change within 20s of the restart")
	}
}
