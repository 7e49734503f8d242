package p2c_test

import (
	"context"
	"testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/p2c"
)

func TestNameIsDefault(t *testing.T) {
	// Name is registered without importing anything else.
	p := selector.NewSelector(selector.Balancer(p2c.Name)).Build()
	p.Apply(selector.NodesFromInstances("grpc", []*registry.ServiceInstance{
		{ID: "1", Name: "svc", Endpoints: []string{"grpc://a:1"}},
		{ID: "2", Name: "svc", Endpoints: []string{"grpc://b:1"}},
	}))
	ctx := context.Background()
	for range 10 {
		n, done, err := p.Select(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done(ctx, selector.DoneInfo{})
		if n.Address() != "a:1" && n.Address() != "b:1" {
			t.Fatalf("picked %s", n.Address())
		}
	}
}
