package nacos_test

import (
	"testing"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/configtest"
)

// TestContract runs config's contract suite against the fake. A Source
// reads one data ID, so the suite has one key ("add" needs two and is
// skipped by the suite itself).
func TestContract(t *testing.T) {
	srv := newFake(t)
	configtest.Run(t, configtest.Harness{
		Keys: []string{"contract.json"},
		New: func(t *testing.T) config.Source {
			return newSource(t, srv, "contract.json")
		},
		Put: func(t *testing.T, key string, data []byte) {
			srv.PublishConfig("", "DEFAULT_GROUP", key, string(data))
		},
		Delete: func(t *testing.T, key string) {
			srv.DeleteConfig("", "DEFAULT_GROUP", key)
		},
		LeakOptions: sdkGoroutines,
	})
}
