package selector

import (
	"context"
	"maps"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/registry"
)

// DefaultWeight is the InitialWeight of a node whose instance has no valid
// "weight" metadata.
const DefaultWeight int64 = 100

// WeightKey is the instance metadata key holding a node's initial weight, a
// positive integer below 2^31 such as "200".
const WeightKey = "weight"

// Node is one endpoint of a service instance.
type Node interface {
	// Scheme is the endpoint's scheme, such as "grpc" or "http".
	Scheme() string
	// Address is the endpoint's host:port.
	Address() string
	// ServiceName is the name of the service the instance belongs to.
	ServiceName() string
	// Version is the instance's version.
	Version() string
	// Metadata is the instance's metadata. It must not be modified.
	Metadata() map[string]string
	// InitialWeight is read from the metadata key "weight"; it is
	// DefaultWeight (100) when that is missing, malformed, not positive or
	// not below 2^31.
	InitialWeight() int64
}

// node is the plain Node implementation.
type node struct {
	scheme  string
	addr    string
	name    string
	version string
	md      map[string]string
	weight  int64
}

// NewNode returns a Node for the endpoint scheme://addr of an instance. The
// instance gives the service name, version, metadata and weight; it may be
// nil. The node keeps a copy of the metadata.
func NewNode(scheme, addr string, ins *registry.ServiceInstance) Node {
	n := &node{scheme: scheme, addr: addr, weight: DefaultWeight}
	if ins != nil {
		n.name = ins.Name
		n.version = ins.Version
		n.md = maps.Clone(ins.Metadata)
		if w, err := strconv.ParseInt(ins.Metadata[WeightKey], 10, 32); err == nil && w > 0 {
			n.weight = w
		}
	}
	return n
}

func (n *node) Scheme() string              { return n.scheme }
func (n *node) Address() string             { return n.addr }
func (n *node) ServiceName() string         { return n.name }
func (n *node) Version() string             { return n.version }
func (n *node) Metadata() map[string]string { return n.md }
func (n *node) InitialWeight() int64        { return n.weight }

// NodesFromInstances converts instances to nodes. With a scheme such as
// "grpc", every endpoint of that scheme becomes a node; with the empty scheme,
// the first valid endpoint of each instance does. Nil instances and endpoints
// that are not URLs with a host are skipped.
func NodesFromInstances(scheme string, ins []*registry.ServiceInstance) []Node {
	nodes := make([]Node, 0, len(ins))
	for _, in := range ins {
		if in == nil {
			continue
		}
		for _, ep := range in.Endpoints {
			u, err := url.Parse(ep)
			if err != nil || u.Host == "" || (scheme != "" && u.Scheme != scheme) {
				continue
			}
			nodes = append(nodes, NewNode(u.Scheme, u.Host, in))
			if scheme == "" {
				break
			}
		}
	}
	return nodes
}

// sameNode reports whether a and b describe the same endpoint with the same
// attributes, so that runtime statistics gathered for a hold for b.
func sameNode(a, b Node) bool {
	return a.Address() == b.Address() && a.Scheme() == b.Scheme() &&
		a.ServiceName() == b.ServiceName() && a.Version() == b.Version() &&
		a.InitialWeight() == b.InitialWeight() && maps.Equal(a.Metadata(), b.Metadata())
}

// epoch is the origin of nanotime.
var epoch = time.Now()

// nanotime returns monotonic nanoseconds since the package was initialized.
func nanotime() int64 { return int64(time.Since(epoch)) }

// noopDone is the DoneFunc of nodes that keep no per-request statistics.
func noopDone(context.Context, DoneInfo) {}

// DirectBuilder is a WeightedNodeBuilder whose nodes keep no per-request
// statistics: their Weight is their InitialWeight and their DoneFunc does
// nothing. The random and roundrobin balancers use it.
type DirectBuilder struct{}

// Build wraps n.
func (DirectBuilder) Build(n Node) WeightedNode {
	d := &directNode{Node: n}
	d.lastPick.Store(nanotime())
	return d
}

// directNode is the WeightedNode built by DirectBuilder.
type directNode struct {
	Node
	lastPick atomic.Int64 // nanotime of the last Pick
}

func (n *directNode) Raw() Node       { return n.Node }
func (n *directNode) Weight() float64 { return float64(n.Node.InitialWeight()) }

func (n *directNode) Pick() DoneFunc {
	n.lastPick.Store(nanotime())
	return noopDone
}

func (n *directNode) PickElapsed() time.Duration {
	return time.Duration(nanotime() - n.lastPick.Load())
}
