// Package wrr provides a smooth weighted round-robin balancer, as in nginx:
// over any run of sum-of-weights picks, each node is picked as many times as
// its weight, and picks of a node are spread out (weights 5, 1, 1 give
// a a b a c a a). A node's weight is its InitialWeight, from the instance
// metadata "weight". Importing the package registers it under Name.
package wrr

import (
	"context"
	"fmt"
	"sync"

	"github.com/zelos-go/zelos/selector"
)

// Name is the balancer's name, for selector.Balancer.
const Name = "wrr"

func init() { selector.RegisterBalancer(Name, Builder{}, NodeBuilder{}) }

// Builder builds wrr balancers.
type Builder struct{}

// Build returns a wrr balancer.
func (Builder) Build() selector.LoadBalancer { return &balancer{} }

// NodeBuilder builds the WeightedNodes of wrr balancers, which hold the
// balancer's running "current weight".
type NodeBuilder struct{}

// Build wraps n.
func (NodeBuilder) Build(n selector.Node) selector.WeightedNode {
	return &node{WeightedNode: selector.DirectBuilder{}.Build(n), weight: n.InitialWeight()}
}

type node struct {
	selector.WeightedNode
	weight  int64
	current int64 // guarded by the balancer's mutex
}

type balancer struct {
	mu sync.Mutex
}

func (b *balancer) Pick(_ context.Context, nodes []selector.WeightedNode) (selector.WeightedNode, selector.DoneFunc, error) {
	b.mu.Lock()
	var (
		best  *node
		total int64
	)
	for _, wn := range nodes {
		n, ok := wn.(*node)
		if !ok {
			b.mu.Unlock()
			return nil, nil, fmt.Errorf("selector/wrr: node %s was not built by wrr.NodeBuilder", wn.Address())
		}
		n.current += n.weight
		total += n.weight
		if best == nil || n.current > best.current {
			best = n
		}
	}
	best.current -= total
	b.mu.Unlock()
	return best, best.Pick(), nil
}
