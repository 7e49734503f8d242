// Package roundrobin provides a balancer that picks nodes in turn. Importing
// the package registers it under Name.
package roundrobin

import (
	"context"
	"sync/atomic"

	"github.com/zelos-go/zelos/selector"
)

// Name is the balancer's name, for selector.Balancer.
const Name = "roundrobin"

func init() { selector.RegisterBalancer(Name, Builder{}, selector.DirectBuilder{}) }

// Builder builds round-robin balancers.
type Builder struct{}

// Build returns a round-robin balancer with its own position.
func (Builder) Build() selector.LoadBalancer { return &balancer{} }

type balancer struct {
	next atomic.Uint64
}

func (b *balancer) Pick(_ context.Context, nodes []selector.WeightedNode) (selector.WeightedNode, selector.DoneFunc, error) {
	n := nodes[(b.next.Add(1)-1)%uint64(len(nodes))]
	return n, n.Pick(), nil
}
