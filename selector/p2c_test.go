package selector

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/registry"
)

// fakeClock is a manual clock for the p2c statistics.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() int64              { return c.t.Load() }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func newFakeP2C(c *fakeClock) *picker {
	return newPicker(balancerEntry{p2cBuilder{c.now}, p2cNodeBuilder{c.now}}, nil, "", ejectConfig{})
}

func testNodes(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = NewNode("http", fmt.Sprintf("10.0.0.%d:80", i+1), &registry.ServiceInstance{Name: "svc"})
	}
	return nodes
}

// run makes n sequential requests; latency and fail give each node's
// simulated latency and outcome. It returns the picks per address.
func run(t *testing.T, p *picker, c *fakeClock, n int, latency func(addr string) time.Duration, fail func(addr string) bool) map[string]int {
	t.Helper()
	ctx := context.Background()
	picks := map[string]int{}
	for range n {
		node, done, err := p.Select(ctx)
		if err != nil {
			t.Fatal(err)
		}
		addr := node.Address()
		picks[addr]++
		c.advance(latency(addr))
		var di DoneInfo
		if fail != nil && fail(addr) && picks[addr]%2 == 0 { // half its requests
			di.Err = errors.ServiceUnavailable("DOWN", "down")
		}
		done(ctx, di)
	}
	return picks
}

func TestP2CPrefersFastNode(t *testing.T) {
	c := &fakeClock{}
	p := newFakeP2C(c)
	nodes := testNodes(3)
	p.Apply(nodes)
	slow := nodes[0].Address()
	latency := func(addr string) time.Duration {
		if addr == slow {
			return 50 * time.Millisecond
		}
		return time.Millisecond
	}
	picks := run(t, p, c, 3000, latency, nil)
	t.Logf("picks: %v (slow: %s)", picks, slow)
	// The slow node is only probed now and then (about every 3s of simulated
	// time); allow far more than that.
	if picks[slow] > 300 {
		t.Fatalf("slow node picked %d times of 3000 (%v); want it avoided", picks[slow], picks)
	}
	if picks[slow] == 0 {
		t.Fatalf("slow node never probed: %v", picks)
	}
}

func TestP2CPrefersNodeWithFewerErrors(t *testing.T) {
	c := &fakeClock{}
	p := newFakeP2C(c)
	nodes := testNodes(2)
	p.Apply(nodes)
	bad := nodes[1].Address()
	latency := func(string) time.Duration { return 10 * time.Millisecond }
	failing := func(addr string) bool { return addr == bad }
	picks := run(t, p, c, 2000, latency, failing)
	t.Logf("picks: %v (failing: %s)", picks, bad)
	if picks[bad] > 400 {
		t.Fatalf("failing node picked %d times of 2000 (%v); want it avoided", picks[bad], picks)
	}
}

func TestP2CInflight(t *testing.T) {
	// Two nodes with equal latency: outstanding requests on one steer new
	// requests to the other.
	c := &fakeClock{}
	p := newFakeP2C(c)
	p.Apply(testNodes(2))
	ctx := context.Background()
	seen := map[string]bool{}
	for len(seen) < 2 { // measure both
		n, done, _ := p.Select(ctx)
		seen[n.Address()] = true
		c.advance(10 * time.Millisecond)
		done(ctx, DoneInfo{})
	}
	var dones []DoneFunc
	for range 10 {
		_, done, _ := p.Select(ctx) // left outstanding
		dones = append(dones, done)
	}
	set := p.set.Load()
	a, b := set.nodes[0].(*p2cNode), set.nodes[1].(*p2cNode)
	if d := a.inflight.Load() - b.inflight.Load(); d < -1 || d > 1 {
		t.Fatalf("outstanding requests not balanced: %d vs %d", a.inflight.Load(), b.inflight.Load())
	}
	for _, done := range dones {
		done(ctx, DoneInfo{})
	}
	if a.inflight.Load() != 0 || b.inflight.Load() != 0 {
		t.Fatalf("inflight after done: %d, %d; want 0", a.inflight.Load(), b.inflight.Load())
	}
}

func TestP2CNewNode(t *testing.T) {
	c := &fakeClock{}
	nb := p2cNodeBuilder{c.now}
	n := nb.Build(testNodes(1)[0]).(*p2cNode)
	if w := n.Weight(); w != math.MaxFloat64 {
		t.Fatalf("idle new node weight = %v; want MaxFloat64 so it is tried", w)
	}
	done := n.Pick()
	if w := n.Weight(); w != 0 {
		t.Fatalf("busy unmeasured node weight = %v; want 0", w)
	}
	c.advance(20 * time.Millisecond)
	if got := n.PickElapsed(); got != 20*time.Millisecond {
		t.Fatalf("PickElapsed = %v; want 20ms", got)
	}
	done(context.Background(), DoneInfo{})
	if got := time.Duration(n.lag.Load()); got != 20*time.Millisecond {
		t.Fatalf("lag after first reply = %v; want 20ms", got)
	}
	// weight = InitialWeight * success / (lag * (inflight+1)) = 100 / 20ms.
	if w, want := n.Weight(), 100/float64(20*time.Millisecond); math.Abs(w-want) > want*1e-9 {
		t.Fatalf("Weight = %v; want %v", w, want)
	}
	// Left alone, the latency decays, so the node looks better.
	w0 := n.Weight()
	c.advance(p2cDecay)
	if w := n.Weight(); math.Abs(w/w0-2) > 1e-9 {
		t.Fatalf("weight after one decay constant = %v; want %v", w, w0*2)
	}
	if n.Raw() == nil || n.Raw().Address() != n.Address() {
		t.Fatal("Raw is not the built node")
	}
}

func TestP2CForcePick(t *testing.T) {
	c := &fakeClock{}
	p := newFakeP2C(c)
	nodes := testNodes(2)
	p.Apply(nodes)
	slow := nodes[0].Address()
	ctx := context.Background()
	pick := func() string {
		n, done, err := p.Select(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Address() == slow {
			c.advance(time.Second)
		} else {
			c.advance(time.Millisecond)
		}
		done(ctx, DoneInfo{})
		return n.Address()
	}
	for range 10 { // measure both
		pick()
	}
	// Within 3s of simulated time after its last pick, the slow node is
	// picked again (forced), then avoided again.
	probes := 0
	for range 8000 {
		if pick() == slow {
			probes++
		}
	}
	t.Logf("slow node probed %d times", probes)
	if probes == 0 || probes > 10 {
		t.Fatalf("slow node picked %d times in ~8s; want a few probes", probes)
	}
}

func TestP2CForeignNodes(t *testing.T) {
	b := p2cBuilder{}.Build()
	nodes := []WeightedNode{DirectBuilder{}.Build(testNodes(1)[0]), DirectBuilder{}.Build(testNodes(2)[1])}
	n, done, err := b.Pick(context.Background(), nodes)
	if err != nil || n == nil || done == nil {
		t.Fatalf("Pick over direct nodes = %v, %v", n, err)
	}
	if _, _, err := b.Pick(context.Background(), nil); err == nil {
		t.Fatal("Pick over no nodes succeeded")
	}
}

func TestFailed(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.NotFound("X", "x"), false},
		{errors.TooManyRequests("X", "x"), true},
		{errors.InternalServer("X", "x"), true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{fmt.Errorf("boom"), true},
	} {
		if got := failed(tc.err); got != tc.want {
			t.Errorf("failed(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}

func TestApplyKeepsStats(t *testing.T) {
	c := &fakeClock{}
	p := newFakeP2C(c)
	nodes := testNodes(3)
	p.Apply(nodes)
	before := p.set.Load().byAddr

	// Same addresses and attributes (new Node values) keep their WeightedNode;
	// a changed weight rebuilds it; a new address is built; a gone one drops.
	changed := NewNode("http", nodes[1].Address(), &registry.ServiceInstance{Name: "svc", Metadata: map[string]string{"weight": "7"}})
	fresh := NewNode("http", "10.0.0.99:80", &registry.ServiceInstance{Name: "svc"})
	p.Apply([]Node{NewNode("http", nodes[0].Address(), &registry.ServiceInstance{Name: "svc"}), changed, fresh, fresh})
	after := p.set.Load()
	if len(after.nodes) != 3 {
		t.Fatalf("node set has %d nodes; want 3 (duplicate dropped)", len(after.nodes))
	}
	if after.byAddr[nodes[0].Address()] != before[nodes[0].Address()] {
		t.Error("unchanged node lost its statistics")
	}
	if after.byAddr[nodes[1].Address()] == before[nodes[1].Address()] {
		t.Error("node with a new weight kept its old WeightedNode")
	}
	if after.byAddr[nodes[1].Address()].InitialWeight() != 7 {
		t.Error("node with a new weight does not have it")
	}
	if _, ok := after.byAddr[nodes[2].Address()]; ok {
		t.Error("removed node is still there")
	}
	if after.service != "svc" {
		t.Errorf("service = %q; want svc", after.service)
	}
	// Applying nothing keeps the service name for the error message.
	p.Apply(nil)
	_, _, err := p.Select(context.Background())
	if errors.Reason(err) != ReasonNoAvailableNode || errors.FromError(err).Message != "no available node for service svc" {
		t.Fatalf("Select on empty = %v", err)
	}
}

func TestP2CAbandonedPickTeachesNothing(t *testing.T) {
	c := &fakeClock{}
	p := newFakeP2C(c)
	p.Apply(testNodes(1))
	ctx := context.Background()
	_, done, _ := p.Select(ctx)
	c.advance(50 * time.Millisecond)
	done(ctx, DoneInfo{}) // one real reply: 50ms
	n := p.set.Load().nodes[0].(*p2cNode)
	lag, success := n.lag.Load(), n.success.Load()

	_, done, _ = p.Select(ctx)
	c.advance(time.Millisecond)
	done(ctx, DoneInfo{Abandoned: true})
	if n.inflight.Load() != 0 {
		t.Fatalf("inflight %d after an abandoned pick, want 0", n.inflight.Load())
	}
	if n.lag.Load() != lag || n.success.Load() != success {
		t.Fatalf("an abandoned pick changed the statistics: lag %d -> %d", lag, n.lag.Load())
	}
}
