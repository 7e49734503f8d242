package apollo_test

import (
	"strings"
	"testing"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/configtest"
	"github.com/zelos-go/zelos/contrib/config/apollo"
)

// TestContract runs config's contract suite against the fake. Each key is a
// JSON namespace, whose document appears under the namespace's name.
func TestContract(t *testing.T) {
	f := newFakeApollo(t, testApp, "default", testSecret)
	keys := []string{"ns0.json", "ns1.json"}
	configtest.Run(t, configtest.Harness{
		Keys: keys,
		New: func(t *testing.T) config.Source {
			return apollo.NewSource(
				apollo.WithAppID(testApp),
				apollo.WithEndpoint(f.srv.URL),
				apollo.WithNamespace(keys...),
				apollo.WithSecret(testSecret),
			)
		},
		Put: func(t *testing.T, key string, data []byte) {
			f.publish(key, map[string]string{"content": string(data)})
		},
		Delete: func(t *testing.T, key string) { f.unpublish(key) },
		Path: func(key, field string) string {
			return strings.TrimSuffix(key, ".json") + "." + field
		},
	})
}
