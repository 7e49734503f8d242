// Package random provides a balancer that picks nodes uniformly at random.
// Importing the package registers it under Name.
package random

import (
	"context"
	"math/rand/v2"

	"github.com/zelos-go/zelos/selector"
)

// Name is the balancer's name, for selector.Balancer.
const Name = "random"

func init() { selector.RegisterBalancer(Name, Builder{}, selector.DirectBuilder{}) }

// Builder builds random balancers.
type Builder struct{}

// Build returns a random balancer.
func (Builder) Build() selector.LoadBalancer { return balancer{} }

type balancer struct{}

func (balancer) Pick(_ context.Context, nodes []selector.WeightedNode) (selector.WeightedNode, selector.DoneFunc, error) {
	n := nodes[rand.IntN(len(nodes))]
	return n, n.Pick(), nil
}
