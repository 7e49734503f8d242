package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/filter"
	"github.com/zelos-go/zelos/selector/p2c"
	"github.com/zelos-go/zelos/selector/random"
	"github.com/zelos-go/zelos/selector/roundrobin"
	"github.com/zelos-go/zelos/selector/wrr"
)

// selectorNodes returns n grpc nodes with varied weights, half in zone "a".
func selectorNodes(n int) []selector.Node {
	ins := make([]*registry.ServiceInstance, n)
	for i := range ins {
		ins[i] = &registry.ServiceInstance{
			ID:   strconv.Itoa(i),
			Name: "bench.service",
			Metadata: map[string]string{
				"weight": strconv.Itoa(10 * (1 + i%5)),
				"zone":   string(rune('a' + i%2)),
			},
			Endpoints: []string{fmt.Sprintf("grpc://10.0.%d.%d:9000", i/256, i%256)},
		}
	}
	return selector.NodesFromInstances("grpc", ins)
}

// BenchmarkSelect measures a Picker's Select plus the DoneFunc call that a
// client makes when the request ends.
func BenchmarkSelect(b *testing.B) {
	for _, name := range []string{random.Name, roundrobin.Name, wrr.Name, p2c.Name} {
		for _, n := range []int{10, 100} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				p := selector.NewSelector(selector.Balancer(name)).Build()
				p.Apply(selectorNodes(n))
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_, done, err := p.Select(ctx)
					if err != nil {
						b.Fatal(err)
					}
					done(ctx, selector.DoneInfo{})
				}
			})
		}
	}
}

// BenchmarkSelectFiltered is BenchmarkSelect with a per-call metadata filter
// carried by the context, over 100 nodes.
func BenchmarkSelectFiltered(b *testing.B) {
	for _, name := range []string{roundrobin.Name, p2c.Name} {
		b.Run(name, func(b *testing.B) {
			p := selector.NewSelector(selector.Balancer(name)).Build()
			p.Apply(selectorNodes(100))
			ctx := selector.NewFilterContext(context.Background(), filter.Metadata("zone", "a"))
			b.ReportAllocs()
			for b.Loop() {
				_, done, err := p.Select(ctx)
				if err != nil {
					b.Fatal(err)
				}
				done(ctx, selector.DoneInfo{})
			}
		})
	}
}
