package registry_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/registry"
)

func ExampleNewInMemory() {
	ctx := context.Background()
	r := registry.NewInMemory()

	w, _ := r.Watch(ctx, "user.service")
	defer w.Stop()
	list, _ := w.Next() // the current list, at once
	fmt.Println(len(list), "instances")

	r.Register(ctx, &registry.ServiceInstance{
		ID:        "user-1",
		Name:      "user.service",
		Version:   "v1.0.0",
		Endpoints: []string{"grpc://127.0.0.1:9000"},
	})
	list, _ = w.Next() // blocks until a change
	fmt.Println(list[0].ID, list[0].Endpoints)
	// Output:
	// 0 instances
	// user-1 [grpc://127.0.0.1:9000]
}

// Follow keeps a client's view of a service up to date, watching again
// with backoff whenever the registry breaks the watch.
func ExampleFollow() {
	ctx, cancel := context.WithCancel(context.Background())
	r := registry.NewInMemory()
	r.Register(ctx, &registry.ServiceInstance{ID: "user-1", Name: "user.service"})

	update := func(list []*registry.ServiceInstance) {
		fmt.Println(len(list), "instances")
		cancel() // a client would run until it is closed
	}
	logErr := func(err error, retryIn time.Duration) bool {
		fmt.Println("watch failed:", err, "retrying in", retryIn)
		return true
	}
	err := registry.Follow(ctx, r, "user.service", update, registry.OnWatchError(logErr))
	fmt.Println(err)
	// Output:
	// 1 instances
	// context canceled
}
