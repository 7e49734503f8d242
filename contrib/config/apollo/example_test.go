package apollo_test

import (
	"fmt"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/contrib/config/apollo"
)

// Example loads the tutorial's three namespaces. It reads them from the
// in-process fake of the tests; in production, WithEndpoint names the
// config service, such as "http://apollo-config-service:8080".
func Example() {
	fake := newFakeApollo(nil, "your-app-id", "default", "your-secret")
	defer fake.close()
	fake.publish("application", map[string]string{"name": "helloworld"})
	fake.publish("mysql", map[string]string{"dsn": "root:root@tcp(127.0.0.1:3306)/test"})
	fake.publish("redis", map[string]string{"addr": "127.0.0.1:6379"})

	c := config.New(
		config.WithSource(
			apollo.NewSource(
				apollo.WithAppID("your-app-id"),
				apollo.WithCluster("default"),
				apollo.WithEndpoint(fake.srv.URL),
				apollo.WithNamespace("application", "mysql", "redis"),
				apollo.WithSecret("your-secret"),
			),
		),
	)
	defer c.Close()
	if err := c.Load(); err != nil {
		panic(err)
	}

	var bc struct {
		Name  string
		MySQL struct{ DSN string } `json:"mysql"`
	}
	if err := c.Scan(&bc); err != nil {
		panic(err)
	}
	addr, _ := c.Value("redis.addr").String()
	fmt.Println(bc.Name, bc.MySQL.DSN, addr)
	// Output:
	// helloworld root:root@tcp(127.0.0.1:3306)/test 127.0.0.1:6379
}
