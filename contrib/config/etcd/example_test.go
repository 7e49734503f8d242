package etcd_test

import (
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/etcd"
)

// Every key under /configs/greeter/ is read: app.yaml as YAML, and keys
// without an extension as flat values (/configs/greeter/db/host is db.host).
func ExampleNewSource() {
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"127.0.0.1:2379"},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	c := config.New(config.WithSource(
		etcd.NewSource(client, etcd.WithPath("/configs/greeter/"), etcd.WithPrefix(true)),
	))
	defer c.Close()
	if err := c.Load(); err != nil {
		fmt.Println(err)
		return
	}
	var bc struct {
		Server struct {
			HTTP struct{ Addr string } `json:"http"`
		} `json:"server"`
	}
	if err := c.Scan(&bc); err != nil {
		fmt.Println(err)
		return
	}
	// Observers run on every change of the key, until Close.
	_ = c.Watch("server.http.addr", func(key string, v config.Value) {
		addr, _ := v.String()
		fmt.Println(key, "is now", addr)
	})
}
