package selector_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/filter"
	"github.com/zelos-go/zelos/selector/roundrobin"
	"github.com/zelos-go/zelos/selector/wrr"
)

func ExampleNewSelector() {
	ctx := context.Background()
	reg := registry.NewInMemory()
	reg.Register(ctx, &registry.ServiceInstance{
		ID: "a", Name: "user.service", Metadata: map[string]string{"weight": "3"},
		Endpoints: []string{"grpc://10.0.0.1:9000"},
	})
	reg.Register(ctx, &registry.ServiceInstance{
		ID: "b", Name: "user.service", Metadata: map[string]string{"weight": "1"},
		Endpoints: []string{"grpc://10.0.0.2:9000"},
	})

	sl := selector.NewSelector(selector.Registry(reg), selector.Balancer(wrr.Name))
	defer sl.Close()
	for range 4 {
		node, done, err := sl.Select(ctx, "user.service")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(node.Address())
		done(ctx, selector.DoneInfo{}) // when the request ends
	}
	// Output:
	// 10.0.0.1:9000
	// 10.0.0.1:9000
	// 10.0.0.2:9000
	// 10.0.0.1:9000
}

func ExampleSelector_Build() {
	ctx := context.Background()
	sl := selector.NewSelector(selector.Balancer(roundrobin.Name))

	// A client builds one Picker per target and feeds it the nodes.
	p := sl.Build()
	p.Apply(selector.NodesFromInstances("http", []*registry.ServiceInstance{
		{ID: "1", Name: "echo", Endpoints: []string{"http://10.0.0.1:8000", "grpc://10.0.0.1:9000"}},
		{ID: "2", Name: "echo", Endpoints: []string{"http://10.0.0.2:8000"}},
	}))
	for range 3 {
		node, done, _ := p.Select(ctx)
		fmt.Println(node.Scheme(), node.Address())
		done(ctx, selector.DoneInfo{})
	}

	p.Apply(nil)
	_, _, err := p.Select(ctx)
	fmt.Println(err)
	// Output:
	// http 10.0.0.1:8000
	// http 10.0.0.2:8000
	// http 10.0.0.1:8000
	// error: code = 503 reason = NO_AVAILABLE_NODE message = no available node for service echo
}

func ExampleNewFilterContext() {
	p := selector.Default().Build()
	p.Apply(selector.NodesFromInstances("grpc", []*registry.ServiceInstance{
		{ID: "1", Name: "echo", Version: "v1", Endpoints: []string{"grpc://10.0.0.1:9000"}},
		{ID: "2", Name: "echo", Version: "v2", Endpoints: []string{"grpc://10.0.0.2:9000"}},
	}))

	// Only v2 nodes for calls made with this context, over any transport.
	ctx := selector.NewFilterContext(context.Background(), filter.Version("v2"))
	node, done, _ := p.Select(ctx)
	defer done(ctx, selector.DoneInfo{})
	fmt.Println(node.Address(), node.Version())
	// Output:
	// 10.0.0.2:9000 v2
}

func ExampleEjectAfter() {
	// An instance with 3 backend failures in a row is left out for 10 s,
	// 20 s the next time, and so on; at most half of them at once.
	sl := selector.NewSelector(selector.Balancer(roundrobin.Name),
		selector.EjectAfter(3), selector.EjectionTime(10*time.Second), selector.MaxEjectedShare(0.5))
	p := sl.Build()
	p.Apply([]selector.Node{
		selector.NewNode("http", "10.0.0.1:8000", nil),
		selector.NewNode("http", "10.0.0.2:8000", nil),
	})
	ctx := context.Background()
	for range 7 {
		node, done, err := p.Select(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if node.Address() == "10.0.0.1:8000" {
			err = errors.ServiceUnavailable("DOWN", "instance down") // what the call returned
		}
		done(ctx, selector.DoneInfo{Err: err})
		fmt.Println(node.Address(), err != nil)
	}
	// Output:
	// 10.0.0.1:8000 true
	// 10.0.0.2:8000 false
	// 10.0.0.1:8000 true
	// 10.0.0.2:8000 false
	// 10.0.0.1:8000 true
	// 10.0.0.2:8000 false
	// 10.0.0.2:8000 false
}
