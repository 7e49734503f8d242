package nacos_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/zelos-go/zelos/contrib/config/nacos/nacostest"
	"github.com/zelos-go/zelos/contrib/registry/nacos"
	"github.com/zelos-go/zelos/registry"
)

// Example registers an instance and watches its service. It talks to the
// in-process fake of the tests; in production the ServerConfig names the
// Nacos server, such as {IpAddr: "nacos-server", Port: 8848}.
func Example() {
	fake, err := nacostest.NewServer()
	if err != nil {
		panic(err)
	}
	defer fake.Close()

	client, err := clients.NewNamingClient(vo.NacosClientParam{
		ClientConfig: &constant.ClientConfig{
			TimeoutMs:            5000,
			NotLoadCacheAtStart:  true,
			UpdateCacheWhenEmpty: true,
			LogDir:               filepath.Join(os.TempDir(), "nacos-example", "log"),
			CacheDir:             filepath.Join(os.TempDir(), "nacos-example", "cache"),
		},
		ServerConfigs: []constant.ServerConfig{fake.ServerConfig()},
	})
	if err != nil {
		panic(err)
	}
	defer client.CloseClient()

	ctx := context.Background()
	r := nacos.New(client)
	defer r.Close()
	svc := &registry.ServiceInstance{
		ID:        "greeter-1",
		Name:      "greeter",
		Version:   "v1.0.0",
		Endpoints: []string{"grpc://127.0.0.1:9000", "http://127.0.0.1:8000"},
	}
	if err := r.Register(ctx, svc); err != nil {
		panic(err)
	}

	w, err := r.Watch(ctx, "greeter")
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	list, _ := w.Next() // the current instances, at once
	fmt.Println(list[0].ID, list[0].Version, list[0].Endpoints)

	if err := r.Deregister(ctx, svc); err != nil {
		panic(err)
	}
	list, _ = w.Next() // the server's push
	fmt.Println(len(list), "instances")
	// Output:
	// greeter-1 v1.0.0 [grpc://127.0.0.1:9000 http://127.0.0.1:8000]
	// 0 instances
}
