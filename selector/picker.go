package selector

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/zelos-go/zelos/errors"
)

// ReasonNoAvailableNode is the reason of the 503 error returned when no node
// is left to pick from.
const ReasonNoAvailableNode = "NO_AVAILABLE_NODE"

// Picker is the per-target selector the transports hold: one per client
// connection or target. It is safe for concurrent use.
type Picker interface {
	// Apply replaces the node set. Nodes whose address and attributes are
	// unchanged keep their runtime statistics. Nodes with the address of an
	// earlier node in the list are dropped.
	Apply(nodes []Node)
	// Select picks a node. It returns a 503 NO_AVAILABLE_NODE error when
	// there is no node or the filters leave none. The DoneFunc is never nil
	// and must be called when the request ends.
	Select(ctx context.Context, opts ...SelectOption) (Node, DoneFunc, error)
}

// SelectOptions are the options of one selection.
type SelectOptions struct {
	// NodeFilters apply to this selection, after the selector's filters.
	NodeFilters []NodeFilter
	// Scheme is the endpoint scheme Selector.Select picks from; empty means
	// the first endpoint of each instance. Pickers ignore it.
	Scheme string
}

// SelectOption sets a SelectOptions field.
type SelectOption func(*SelectOptions)

// WithNodeFilter adds filters to one selection.
func WithNodeFilter(f ...NodeFilter) SelectOption {
	return func(o *SelectOptions) { o.NodeFilters = append(o.NodeFilters, f...) }
}

// WithScheme makes Selector.Select pick among the endpoints of a scheme, such
// as "http" or "grpc".
func WithScheme(scheme string) SelectOption {
	return func(o *SelectOptions) { o.Scheme = scheme }
}

type filterKey struct{}

// NewFilterContext returns a copy of ctx carrying node filters, after those
// ctx already carries. Pickers apply them to every selection made with the
// context, so per-call filters work over any transport.
func NewFilterContext(ctx context.Context, f ...NodeFilter) context.Context {
	old := FiltersFromContext(ctx)
	fs := make([]NodeFilter, 0, len(old)+len(f))
	fs = append(append(fs, old...), f...)
	return context.WithValue(ctx, filterKey{}, fs)
}

// FiltersFromContext returns the node filters carried by ctx. The slice must
// not be modified.
func FiltersFromContext(ctx context.Context) []NodeFilter {
	fs, _ := ctx.Value(filterKey{}).([]NodeFilter)
	return fs
}

// nodeSet is an immutable set of nodes, swapped atomically by Apply.
type nodeSet struct {
	nodes   []WeightedNode
	byAddr  map[string]WeightedNode
	health  map[WeightedNode]*health // outlier state; nil when ejection is off
	service string
}

// picker is the Picker built by Selector.Build.
type picker struct {
	balancer LoadBalancer
	builder  WeightedNodeBuilder
	filters  []NodeFilter // the selector's filters
	service  string       // known service name, or ""
	ejector  *ejector     // nil when outlier ejection is off

	mu   sync.Mutex // serializes Apply
	set  atomic.Pointer[nodeSet]
	bufs sync.Pool // of *filterBuf
}

func newPicker(e balancerEntry, filters []NodeFilter, service string, eject ejectConfig) *picker {
	p := &picker{balancer: e.b.Build(), builder: e.wb, filters: filters, service: service}
	p.ejector = newEjector(eject, p)
	return p
}

func (p *picker) Apply(nodes []Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.set.Load()
	set := &nodeSet{
		nodes:   make([]WeightedNode, 0, len(nodes)),
		byAddr:  make(map[string]WeightedNode, len(nodes)),
		service: p.service,
	}
	if p.ejector != nil {
		set.health = make(map[WeightedNode]*health, len(nodes))
	}
	for _, n := range nodes {
		if n == nil {
			continue
		}
		addr := n.Address()
		if _, dup := set.byAddr[addr]; dup {
			continue
		}
		var wn WeightedNode
		if old != nil {
			if o, ok := old.byAddr[addr]; ok && sameNode(o.Raw(), n) {
				wn = o
			}
		}
		if wn == nil {
			wn = p.builder.Build(n)
		}
		set.nodes = append(set.nodes, wn)
		set.byAddr[addr] = wn
		if set.health != nil {
			h := old.healthOf(wn)
			if h == nil {
				h = p.ejector.newHealth()
				if pn, ok := wn.(*p2cNode); ok {
					pn.health.Store(h)
				}
			}
			set.health[wn] = h
		}
		if set.service == "" {
			set.service = n.ServiceName()
		}
	}
	if set.service == "" && old != nil {
		set.service = old.service
	}
	p.set.Store(set)
}

func (p *picker) Select(ctx context.Context, opts ...SelectOption) (Node, DoneFunc, error) {
	set := p.set.Load()
	if set == nil || len(set.nodes) == 0 {
		return nil, nil, p.noNode(set)
	}
	var opt []NodeFilter
	if len(opts) > 0 {
		opt = optionFilters(opts)
	}
	fromCtx := FiltersFromContext(ctx)
	ejecting := p.ejector != nil && p.ejector.anyEjected()
	if len(p.filters)+len(opt)+len(fromCtx) == 0 && !ejecting {
		return p.pick(ctx, set, set.nodes)
	}
	buf, _ := p.bufs.Get().(*filterBuf)
	if buf == nil {
		buf = new(filterBuf)
	}
	defer p.bufs.Put(buf)
	nodes := set.filter(ctx, buf, p.filters, opt, fromCtx)
	defer buf.reset()
	if len(nodes) == 0 {
		return nil, nil, p.noNode(set)
	}
	if ejecting {
		nodes = p.ejector.admit(set, nodes)
	}
	return p.pick(ctx, set, nodes)
}

func (p *picker) pick(ctx context.Context, set *nodeSet, nodes []WeightedNode) (Node, DoneFunc, error) {
	// A retry avoids the nodes tried (tried.go). The set is looked up once:
	// each lookup walks the context chain.
	tried := TriedFromContext(ctx)
	wn, done, err := p.balancer.Pick(ctx, preferUntried(tried, nodes))
	if err != nil {
		return nil, nil, err
	}
	if tried != nil {
		tried.Add(wn.Address())
	}
	if done == nil {
		done = noopDone
	}
	if h := set.health[wn]; h != nil {
		if pn, ok := wn.(*p2cNode); !ok || pn.health.Load() != h {
			done = h.wrap(done) // p2c's own DoneFunc records into h
		}
	}
	return wn.Raw(), done, nil
}

// healthOf returns the outlier state of wn in s, or nil.
func (s *nodeSet) healthOf(wn WeightedNode) *health {
	if s == nil {
		return nil
	}
	return s.health[wn]
}

// optionFilters applies opts. It is a separate function so the options
// escape to the heap only when there are some.
func optionFilters(opts []SelectOption) []NodeFilter {
	var o SelectOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o.NodeFilters
}

func (p *picker) noNode(set *nodeSet) error {
	name := p.service
	if set != nil {
		name = set.service
	}
	if name == "" {
		return errors.ServiceUnavailable(ReasonNoAvailableNode, "no available node")
	}
	return errors.ServiceUnavailable(ReasonNoAvailableNode, "no available node for service "+name)
}

// filterBuf holds the slices of a filtered selection, reused across
// selections.
type filterBuf struct {
	nodes    []Node
	weighted []WeightedNode
}

// reset drops the buffer's references to nodes.
func (b *filterBuf) reset() {
	clear(b.nodes[:cap(b.nodes)])
	clear(b.weighted[:cap(b.weighted)])
}

// filter runs the filter groups over a copy of the nodes in buf and returns
// the weighted nodes that remain, also in buf.
func (s *nodeSet) filter(ctx context.Context, buf *filterBuf, groups ...[]NodeFilter) []WeightedNode {
	nodes := buf.nodes[:0]
	for _, wn := range s.nodes {
		nodes = append(nodes, wn)
	}
	buf.nodes = nodes
	for _, g := range groups {
		for _, f := range g {
			if len(nodes) == 0 {
				return nil
			}
			if f != nil {
				nodes = f(ctx, nodes)
			}
		}
	}
	out := buf.weighted[:0]
	for _, n := range nodes {
		if n == nil {
			continue
		}
		wn, ok := n.(WeightedNode)
		if !ok {
			// The filter returned nodes of its own: match them by address.
			if wn, ok = s.byAddr[n.Address()]; !ok {
				continue
			}
		}
		out = append(out, wn)
	}
	buf.weighted = out
	return out
}
