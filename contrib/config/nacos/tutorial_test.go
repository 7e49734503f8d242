package nacos_test

import (
	"testing"

	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/nacos"
)

// Config stands for the tutorial application's configuration struct.
type Config struct {
	Name string
	HTTP struct {
		Addr string
	}
}

// LoadConfigFromNacos is the tutorial's snippet (section 4.2) unchanged but
// for the import paths, and with its "// ... 其余代码同上" ("the rest as
// above") written out as the rest of section 4.1's function.
func LoadConfigFromNacos() (*Config, func(), error) {
	source := nacos.NewConfigSource(
		nacos.WithServerConfig([]constant.ServerConfig{
			{IpAddr: "nacos-server", Port: 8848},
		}),
		nacos.WithClientConfig(
			constant.ClientConfig{
				NamespaceId:         "your-namespace",
				TimeoutMs:           5000,
				NotLoadCacheAtStart: true,
			},
		),
		nacos.WithDataId("app.yaml"),
		nacos.WithGroup("DEFAULT_GROUP"),
	)

	c := config.New(config.WithSource(source))
	// ... 其余代码同上
	if err := c.Load(); err != nil {
		return nil, nil, err
	}

	var bc Config
	if err := c.Scan(&bc); err != nil {
		return nil, nil, err
	}

	return &bc, func() { c.Close() }, nil
}

// TestTutorialShape runs the tutorial's function body against the fake.
// The snippet's own host, nacos-server, does not resolve here, and the SDK
// dials gRPC itself, with no hook to send that name elsewhere, so the test
// runs the same calls with the fake's address in the ServerConfig; the
// function above is compiled, not run.
func TestTutorialShape(t *testing.T) {
	srv := newFake(t)
	srv.PublishConfig("your-namespace", "DEFAULT_GROUP", "app.yaml", "name: tutorial\nhttp:\n  addr: :8000\n")
	source := nacos.NewConfigSource(
		nacos.WithServerConfig([]constant.ServerConfig{
			{IpAddr: "127.0.0.1", Port: srv.GrpcPort() - 1000},
		}),
		nacos.WithClientConfig(
			constant.ClientConfig{
				NamespaceId:         "your-namespace",
				TimeoutMs:           5000,
				NotLoadCacheAtStart: true,
				LogDir:              logDir,
				CacheDir:            cacheDir(t),
			},
		),
		nacos.WithDataId("app.yaml"),
		nacos.WithGroup("DEFAULT_GROUP"),
	)
	c := config.New(config.WithSource(source))
	defer c.Close()
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	var bc Config
	if err := c.Scan(&bc); err != nil {
		t.Fatal(err)
	}
	if bc.Name != "tutorial" || bc.HTTP.Addr != ":8000" {
		t.Errorf("loaded %+v", bc)
	}
	_ = LoadConfigFromNacos // compiled with the tutorial's host
}
