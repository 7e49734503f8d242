package selector

import (
	"context"
	"slices"
	"sync"
)

// Tried records the addresses of the nodes one logical call was sent to, so
// that a retry goes to another instance where one exists. The retry
// middleware puts one in the context of every attempt (see
// TriedContextKey); every picker honours it, so it works for the HTTP
// client's selector and for the gRPC discovery balancer alike, whatever the
// balancer.
//
// A Tried is safe for concurrent use: hedged attempts pick at the same
// time. Its zero value is an empty set.
type Tried struct {
	mu    sync.Mutex
	n     int
	inln  [3]string // the first addresses, without an allocation
	extra []string
}

type triedKey struct{}

// TriedContextKey returns the context key pickers look a *Tried up with.
// A context that answers it with a *Tried (such as one from
// NewTriedContext) makes picks prefer nodes not in the set and records
// each picked address in it. It is a function, not a variable, so that no
// package can replace it.
func TriedContextKey() any { return triedKey{} }

// NewTriedContext returns a copy of ctx carrying t.
func NewTriedContext(ctx context.Context, t *Tried) context.Context {
	return context.WithValue(ctx, triedKey{}, t)
}

// TriedFromContext returns the Tried set ctx carries, or nil.
func TriedFromContext(ctx context.Context) *Tried {
	t, _ := ctx.Value(triedKey{}).(*Tried)
	return t
}

// Add records addr. It does not allocate for the first three addresses.
func (t *Tried) Add(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.has(addr) {
		return
	}
	if t.n < len(t.inln) {
		t.inln[t.n] = addr
	} else {
		t.extra = append(t.extra, addr)
	}
	t.n++
}

// Contains reports whether addr was recorded.
func (t *Tried) Contains(addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.has(addr)
}

// Len returns the number of addresses recorded.
func (t *Tried) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

func (t *Tried) has(addr string) bool {
	return slices.Contains(t.inln[:min(t.n, len(t.inln))], addr) || slices.Contains(t.extra, addr)
}

// preferUntried returns the nodes not in the Tried set t, or all of them
// when t is nil or empty, or every node was tried (a retry to a node
// already tried beats no retry). Only retries pay for the filtered copy,
// and the set is locked once for all the nodes.
func preferUntried(t *Tried, nodes []WeightedNode) []WeightedNode {
	if t == nil || len(nodes) < 2 {
		return nodes
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return nodes
	}
	var out []WeightedNode
	for _, n := range nodes {
		if !t.has(n.Address()) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nodes
	}
	return out
}
