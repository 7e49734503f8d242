package selector

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ReplyMD is the metadata of a reply, such as gRPC trailers or HTTP headers.
type ReplyMD interface {
	Get(key string) string
}

// DoneInfo describes how a request sent to a selected node ended.
type DoneInfo struct {
	// Err is the request's error, nil on success. Errors with a code of 429 or
	// 500 and above (see the errors package) count as failures of the node;
	// others, such as 404, are answers.
	Err error
	// ReplyMD is the reply's metadata; it may be nil.
	ReplyMD ReplyMD
	// BytesSent reports whether any bytes were sent to the node.
	BytesSent bool
	// BytesReceived reports whether any bytes were received from the node.
	BytesReceived bool
	// Abandoned reports that the request was never sent to the node, for
	// example because the transport picked again. Balancers release the pick
	// without learning from it.
	Abandoned bool
}

// DoneFunc is called exactly once when a request sent to a selected node
// ends. Balancers that gather statistics, such as p2c, learn from it.
type DoneFunc func(ctx context.Context, di DoneInfo)

// NodeFilter narrows the nodes a request may be sent to. A filter owns the
// slice it is given: it may reorder or overwrite it and return a sub-slice,
// but must not keep it.
type NodeFilter func(ctx context.Context, nodes []Node) []Node

// WeightedNode is a node with the runtime statistics a balancer needs.
type WeightedNode interface {
	Node
	// Raw returns the node the WeightedNode was built from.
	Raw() Node
	// Weight is the node's current weight; balancers prefer higher weights.
	Weight() float64
	// Pick records that the node was picked and returns the function to call
	// when the request ends.
	Pick() DoneFunc
	// PickElapsed is the time since the node was last picked.
	PickElapsed() time.Duration
}

// WeightedNodeBuilder builds the WeightedNodes of a balancer.
type WeightedNodeBuilder interface {
	Build(Node) WeightedNode
}

// LoadBalancer is a balancing algorithm: it picks one of the nodes. (The
// name Balancer is the option that chooses a balancer by name.) The nodes
// are never empty and were built by the WeightedNodeBuilder registered with
// the balancer; Pick must not keep the slice. Pick returns the picked node's
// DoneFunc, usually the result of its Pick method.
type LoadBalancer interface {
	Pick(ctx context.Context, nodes []WeightedNode) (WeightedNode, DoneFunc, error)
}

// BalancerBuilder builds a LoadBalancer; each Picker has its own.
type BalancerBuilder interface {
	Build() LoadBalancer
}

type balancerEntry struct {
	b  BalancerBuilder
	wb WeightedNodeBuilder
}

// balancers holds the registered balancers by name. p2c is built in because
// it is the default.
var balancers = struct {
	sync.RWMutex
	m map[string]balancerEntry
}{m: map[string]balancerEntry{
	defaultBalancer: {p2cBuilder{}, p2cNodeBuilder{}},
}}

// RegisterBalancer makes a balancer available by name to the Balancer option.
// Balancer packages call it from init. Registering a name again replaces the
// earlier balancer for selectors created afterwards. RegisterBalancer panics
// if name is empty or a builder is nil.
func RegisterBalancer(name string, b BalancerBuilder, wb WeightedNodeBuilder) {
	if name == "" || b == nil || wb == nil {
		panic(fmt.Sprintf("selector: RegisterBalancer(%q): empty name or nil builder", name))
	}
	balancers.Lock()
	balancers.m[name] = balancerEntry{b, wb}
	balancers.Unlock()
}

func lookupBalancer(name string) (balancerEntry, bool) {
	balancers.RLock()
	e, ok := balancers.m[name]
	balancers.RUnlock()
	return e, ok
}
