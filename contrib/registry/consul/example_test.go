package consul_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/zelos-go/zelos/contrib/registry/consul"
	"github.com/zelos-go/zelos/registry"
)

func Example() {
	// The example talks to the in-process fake of the tests; use
	// api.DefaultConfig() to reach the local Consul agent.
	fake := startFakeConsul()
	defer fake.close()
	client, err := api.NewClient(&api.Config{Address: fake.srv.URL})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	r := consul.New(client, consul.WithTTL(10*time.Second))
	svc := &registry.ServiceInstance{
		ID:        "greeter-1",
		Name:      "greeter",
		Version:   "v1.0.0",
		Endpoints: []string{"grpc://127.0.0.1:9000"},
	}
	if err := r.Register(ctx, svc); err != nil {
		panic(err)
	}

	w, err := r.Watch(ctx, "greeter")
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	list, _ := w.Next() // the passing instances, at once
	fmt.Println(list[0].ID, list[0].Version, list[0].Endpoints)

	if err := r.Deregister(ctx, svc); err != nil {
		panic(err)
	}
	list, _ = w.Next() // a blocking query answers the change
	fmt.Println(len(list), "instances")
	// Output:
	// greeter-1 v1.0.0 [grpc://127.0.0.1:9000]
	// 0 instances
}
