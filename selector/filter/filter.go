// Package filter provides common node filters.
package filter

import (
	"context"

	"github.com/zelos-go/zelos/selector"
)

// Version keeps the nodes of instances with version v.
func Version(v string) selector.NodeFilter {
	return func(_ context.Context, nodes []selector.Node) []selector.Node {
		return keep(nodes, func(n selector.Node) bool { return n.Version() == v })
	}
}

// Metadata keeps the nodes whose instance metadata has key set to value,
// such as Metadata("zone", "eu-1").
func Metadata(key, value string) selector.NodeFilter {
	return func(_ context.Context, nodes []selector.Node) []selector.Node {
		return keep(nodes, func(n selector.Node) bool {
			v, ok := n.Metadata()[key]
			return ok && v == value
		})
	}
}

// keep filters nodes in place, as NodeFilter allows.
func keep(nodes []selector.Node, ok func(selector.Node) bool) []selector.Node {
	out := nodes[:0]
	for _, n := range nodes {
		if ok(n) {
			out = append(out, n)
		}
	}
	clear(nodes[len(out):])
	return out
}
