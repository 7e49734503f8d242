package eureka_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/contrib/registry/eureka"
	"github.com/zelos-go/zelos/registry"
)

func Example() {
	// The example talks to the in-process fake of the tests; use your
	// Eureka servers' URLs, such as http://eureka-1:8761/eureka/v2.
	fake := startFakeEureka()
	defer fake.close()

	r, err := eureka.New([]string{fake.url()},
		eureka.WithHeartbeat(30*time.Second),
		eureka.WithLease(90*time.Second),
		eureka.WithRefresh(100*time.Millisecond), // how often watchers fetch
	)
	if err != nil {
		panic(err)
	}
	defer r.Close() // stops the heartbeats

	ctx := context.Background()
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
	list, _ := w.Next() // the UP instances, at once
	fmt.Println(list[0].ID, list[0].Version, list[0].Endpoints)

	if err := r.Deregister(ctx, svc); err != nil {
		panic(err)
	}
	list, _ = w.Next() // the next fetch that sees a change
	fmt.Println(len(list), "instances")
	// Output:
	// greeter-1 v1.0.0 [grpc://127.0.0.1:9000]
	// 0 instances
}
