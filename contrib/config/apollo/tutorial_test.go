package apollo_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/apollo"
)

// Config and codec stand for the tutorial application's own: its
// configuration struct, and the decoder it passes to config.WithDecoder.
type Config struct {
	Name  string
	MySQL struct {
		DSN string
	} `json:"mysql"`
	Redis struct {
		Addr string
	}
}

var codec = config.DefaultDecoder

// LoadConfigFromApollo is the tutorial's snippet (section 4.1), unchanged
// but for the import paths, which are zelos's, and its unused "context"
// import, which Go would not compile.
func LoadConfigFromApollo() (*Config, func(), error) {
	c := config.New(
		config.WithSource(
			apollo.NewSource(
				apollo.WithAppID("your-app-id"),
				apollo.WithCluster("default"),
				apollo.WithEndpoint("http://apollo-config-service:8080"),
				apollo.WithNamespace("application", "mysql", "redis"),
				apollo.WithSecret("your-secret"),
			),
		),
		config.WithDecoder(codec),
	)

	if err := c.Load(); err != nil {
		return nil, nil, err
	}

	var bc Config
	if err := c.Scan(&bc); err != nil {
		return nil, nil, err
	}

	return &bc, func() { c.Close() }, nil
}

// TestTutorialSnippet runs the tutorial's function against the fake. The
// snippet names its host, apollo-config-service:8080, which does not
// resolve here, so the test swaps http.DefaultTransport (which the Source
// uses by default) for one that dials the fake instead.
func TestTutorialSnippet(t *testing.T) {
	f := newFakeApollo(t, "your-app-id", "default", "your-secret")
	f.publish("application", map[string]string{"name": "tutorial"})
	f.publish("mysql", map[string]string{"dsn": "root:root@tcp(127.0.0.1:3306)/test"})
	f.publish("redis", map[string]string{"addr": "127.0.0.1:6379"})

	redirect := http.DefaultTransport.(*http.Transport).Clone()
	redirect.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "apollo-config-service:8080" {
			addr = f.srv.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	saved := http.DefaultTransport
	http.DefaultTransport = redirect
	t.Cleanup(func() {
		http.DefaultTransport = saved
		redirect.CloseIdleConnections()
	})

	bc, closeFn, err := LoadConfigFromApollo()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if bc.Name != "tutorial" || bc.MySQL.DSN != "root:root@tcp(127.0.0.1:3306)/test" || bc.Redis.Addr != "127.0.0.1:6379" {
		t.Errorf("loaded %+v", *bc)
	}
}
