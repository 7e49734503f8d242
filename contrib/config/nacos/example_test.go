package nacos_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/nacos"
	"github.com/zelos-go/zelos/contrib/config/nacos/nacostest"
)

// Example loads app.yaml in the tutorial's shape. It reads it from the
// in-process fake of the tests; in production the ServerConfig names the
// Nacos server, such as {IpAddr: "nacos-server", Port: 8848}.
func Example() {
	fake, err := nacostest.NewServer()
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	fake.PublishConfig("your-namespace", "DEFAULT_GROUP", "app.yaml", "http:\n  addr: :8000\n")

	source := nacos.NewConfigSource(
		nacos.WithServerConfig([]constant.ServerConfig{fake.ServerConfig()}),
		nacos.WithClientConfig(constant.ClientConfig{
			NamespaceId:         "your-namespace",
			TimeoutMs:           5000,
			NotLoadCacheAtStart: true,
			LogDir:              filepath.Join(os.TempDir(), "nacos-example", "log"),
			CacheDir:            filepath.Join(os.TempDir(), "nacos-example", "cache"),
		}),
		nacos.WithDataId("app.yaml"),
		nacos.WithGroup("DEFAULT_GROUP"),
	)
	c := config.New(config.WithSource(source))
	defer c.Close()
	if err := c.Load(); err != nil {
		panic(err)
	}
	addr, _ := c.Value("http.addr").String()
	fmt.Println(addr)
	// Output:
	// :8000
}
