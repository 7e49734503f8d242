package consul_test

import (
	"fmt"

	"github.com/hashicorp/consul/api"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/consul"
)

// Every key under configs/greeter/ is read and watched with blocking
// queries; the fake Consul of the tests stands in for the local agent.
func ExampleNewSource() {
	fake := startFake()
	defer fake.close()
	client, err := api.NewClient(&api.Config{Address: fake.srv.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = client.KV().Put(&api.KVPair{Key: "configs/greeter/app.yaml", Value: []byte("server:\n  http:\n    addr: :8000\n")}, nil)

	c := config.New(config.WithSource(consul.NewSource(client, consul.WithPath("configs/greeter/"))))
	defer c.Close()
	if err := c.Load(); err != nil {
		fmt.Println(err)
		return
	}
	addr, _ := c.Value("server.http.addr").String()
	fmt.Println(addr)
	// Output: :8000
}
