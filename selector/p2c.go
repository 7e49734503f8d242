package selector

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/errors"
)

// defaultBalancer is the name of the built-in power-of-two-choices balancer,
// exported as p2c.Name.
const defaultBalancer = "p2c"

const (
	// p2cDecay is the time constant of the latency and success averages: a
	// sample's influence falls to 1/e after p2cDecay. The latency of a node
	// with no replies for p2cDecay counts half, so idle nodes are tried again.
	p2cDecay = time.Second
	// p2cForcePick is how long a node may go unpicked before it is picked to
	// probe it, even if it lost the comparison.
	p2cForcePick = 3 * time.Second
	// p2cMinSuccess keeps the weights of failing nodes comparable by latency.
	p2cMinSuccess = 1e-3
)

// p2cBuilder builds p2c balancers. now is the clock (nanoseconds); nil means
// the monotonic clock.
type p2cBuilder struct{ now func() int64 }

func (b p2cBuilder) Build() LoadBalancer {
	now := b.now
	if now == nil {
		now = nanotime
	}
	return &p2cBalancer{now: now}
}

// p2cNodeBuilder builds p2c nodes with the clock now (nil: monotonic).
type p2cNodeBuilder struct{ now func() int64 }

func (b p2cNodeBuilder) Build(n Node) WeightedNode {
	now := b.now
	if now == nil {
		now = nanotime
	}
	p := &p2cNode{Node: n, now: now, weight: float64(n.InitialWeight())}
	p.success.Store(math.Float64bits(1))
	t := now()
	p.stamp.Store(t)
	p.lastPick.Store(t)
	return p
}

// p2cBalancer picks the better of two random nodes, where better means a
// higher weight: InitialWeight * success rate / (latency * (in-flight + 1)),
// the latency and success rate being time-decayed moving averages.
type p2cBalancer struct {
	now func() int64
}

func (b *p2cBalancer) Pick(_ context.Context, nodes []WeightedNode) (WeightedNode, DoneFunc, error) {
	switch len(nodes) {
	case 0:
		return nil, nil, fmt.Errorf("selector: p2c: no nodes to pick from")
	case 1:
		return nodes[0], nodes[0].Pick(), nil
	}
	r := rand.Uint64()
	n := uint64(len(nodes))
	i := (r & math.MaxUint32) % n
	j := (r >> 32) % (n - 1)
	if j >= i {
		j++
	}
	a, aok := nodes[i].(*p2cNode)
	c, cok := nodes[j].(*p2cNode)
	if !aok || !cok {
		// Nodes from another builder: compare their weights.
		best := nodes[i]
		if nodes[j].Weight() > best.Weight() {
			best = nodes[j]
		}
		return best, best.Pick(), nil
	}
	now := b.now()
	best, other := a, c
	if c.weightAt(now) > a.weightAt(now) {
		best, other = c, a
	}
	// Probe the loser if it has not been picked for a while; the CAS lets one
	// request do it.
	if last := other.lastPick.Load(); now-last > int64(p2cForcePick) && other.lastPick.CompareAndSwap(last, now) {
		best = other
	}
	return best, best.pick(now), nil
}

// p2cNode is a WeightedNode with the statistics of the p2c balancer.
type p2cNode struct {
	Node
	now    func() int64
	weight float64 // InitialWeight

	lag      atomic.Int64  // moving average of the latency in ns; 0 until the first reply
	success  atomic.Uint64 // float64 bits of the moving average of successes, in [0, 1]
	inflight atomic.Int64  // requests picked and not done
	stamp    atomic.Int64  // time of the last update of lag and success
	lastPick atomic.Int64  // time of the last pick

	// health is the node's outlier state, set by the picker. The p2c
	// DoneFunc records into it, so the picker need not wrap that closure
	// in another (BenchmarkSelect/p2c: 1 alloc instead of 2).
	health atomic.Pointer[health]
}

func (n *p2cNode) Raw() Node { return n.Node }

func (n *p2cNode) Weight() float64 { return n.weightAt(n.now()) }

func (n *p2cNode) Pick() DoneFunc { return n.pick(n.now()) }

func (n *p2cNode) PickElapsed() time.Duration {
	return time.Duration(n.now() - n.lastPick.Load())
}

// weightAt returns the node's weight at time now.
func (n *p2cNode) weightAt(now int64) float64 {
	lag := n.lag.Load()
	inflight := n.inflight.Load()
	if lag == 0 {
		// Never measured: try it when it is idle, and wait for its first
		// reply before sending more.
		if inflight == 0 {
			return math.MaxFloat64
		}
		return 0
	}
	l := float64(lag)
	if age := now - n.stamp.Load(); age > 0 {
		// Idle decay: the latency halves after p2cDecay without replies, and
		// keeps falling. (Cheaper than exp, and only a heuristic.)
		l *= float64(p2cDecay) / float64(int64(p2cDecay)+age)
	}
	l = max(l, 1)
	s := max(math.Float64frombits(n.success.Load()), p2cMinSuccess)
	return n.weight * s / (l * float64(inflight+1))
}

func (n *p2cNode) pick(now int64) DoneFunc {
	n.inflight.Add(1)
	n.lastPick.Store(now)
	return func(ctx context.Context, di DoneInfo) {
		n.done(now, di)
		if h := n.health.Load(); h != nil {
			h.record(ctx, di)
		}
	}
}

// done updates the statistics with a request picked at start.
func (n *p2cNode) done(start int64, di DoneInfo) {
	n.inflight.Add(-1)
	if di.Abandoned {
		return
	}
	now := n.now()
	sample := max(now-start, 1)
	td := max(now-n.stamp.Swap(now), 0)
	w := math.Exp(-float64(td) / float64(p2cDecay))
	if old := n.lag.Load(); old == 0 {
		n.lag.Store(sample)
	} else {
		n.lag.Store(max(int64(float64(old)*w+float64(sample)*(1-w)), 1))
	}
	ok := 1.0
	if failed(di.Err) {
		ok = 0
	}
	s := math.Float64frombits(n.success.Load())
	n.success.Store(math.Float64bits(s*w + ok*(1-w)))
}

// failed reports whether err counts against the node: codes 429 and 5xx.
func failed(err error) bool {
	if err == nil {
		return false
	}
	code := errors.Code(err)
	return code == 429 || code >= 500
}
