package selector_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/p2c"
	"github.com/zelos-go/zelos/selector/random"
	"github.com/zelos-go/zelos/selector/roundrobin"
	"github.com/zelos-go/zelos/selector/wrr"
)

// fakeClock is a manual nanosecond clock.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() int64              { return c.t.Load() }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

var balancerNames = []string{random.Name, roundrobin.Name, wrr.Name, p2c.Name}

// outlierNodes returns n http nodes 10.0.0.i:80.
func outlierNodes(n int) []selector.Node {
	nodes := make([]selector.Node, n)
	for i := range nodes {
		nodes[i] = selector.NewNode("http", fmt.Sprintf("10.0.0.%d:80", i), &registry.ServiceInstance{Name: "svc"})
	}
	return nodes
}

// call selects a node and ends the request with the error bad returns for
// that node's address.
func call(t *testing.T, p selector.Picker, bad func(addr string) error) string {
	t.Helper()
	ctx := context.Background()
	n, done, err := p.Select(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done(ctx, selector.DoneInfo{Err: bad(n.Address()), BytesSent: true, BytesReceived: true})
	return n.Address()
}

func failing(addrs ...string) func(string) error {
	return func(addr string) error {
		for _, a := range addrs {
			if a == addr {
				return errors.ServiceUnavailable("DOWN", "down")
			}
		}
		return nil
	}
}

// picks counts the picks of each address over n calls.
func picks(t *testing.T, p selector.Picker, n int, bad func(string) error) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		seen[call(t, p, bad)]++
	}
	return seen
}

func TestOutlierEjectionEveryBalancer(t *testing.T) {
	ctx := context.Background()
	const badAddr = "10.0.0.0:80"
	for _, name := range balancerNames {
		t.Run(name, func(t *testing.T) {
			clk := new(fakeClock)
			base := 10 * time.Second
			p := selector.NewSelector(selector.Balancer(name), selector.EjectionTime(base),
				selector.EjectClock(clk.now)).Build()
			p.Apply(outlierNodes(5))
			// failBad fails 5 requests on the bad node. A filter leaves only
			// that node, so every balancer picks it: p2c, left to itself,
			// soon stops picking a node it saw fail.
			failBad := func() {
				t.Helper()
				for range selector.DefaultEjectAfter {
					n, done, err := p.Select(ctx, selector.WithNodeFilter(onlyAddr(badAddr)))
					if err != nil || n.Address() != badAddr {
						t.Fatalf("Select = %v, %v; want %s", n, err, badAddr)
					}
					done(ctx, selector.DoneInfo{Err: errors.ServiceUnavailable("DOWN", "down")})
				}
			}
			bad := failing(badAddr)

			failBad()
			if got := picks(t, p, 200, bad)[badAddr]; got != 0 {
				t.Fatalf("ejected node picked %d times", got)
			}
			clk.advance(base - time.Nanosecond)
			if got := picks(t, p, 100, bad)[badAddr]; got != 0 {
				t.Fatalf("ejected node picked %d times just before the base time ended", got)
			}
			clk.advance(time.Nanosecond)
			if name == p2c.Name {
				// Whether p2c picks the node again at once is its own call:
				// its statistics, on the real clock, remember the failures.
				return
			}
			// Back on its own, healthy this time.
			if got := picks(t, p, 200, failing())[badAddr]; got == 0 {
				t.Fatal("node not picked again after its ejection ended")
			}
			// The second ejection lasts 2×base.
			failBad()
			clk.advance(2*base - time.Nanosecond)
			if got := picks(t, p, 100, bad)[badAddr]; got != 0 {
				t.Fatalf("second ejection ended before 2×base: picked %d times", got)
			}
			clk.advance(time.Nanosecond)
			if got := picks(t, p, 200, failing())[badAddr]; got == 0 {
				t.Fatal("node not picked again after its second ejection ended")
			}
		})
	}
}

// TestOutlierConsecutiveFailures: without a filter, a failing node gets
// exactly 5 requests and is then ejected (round robin, which never avoids
// it by itself).
func TestOutlierConsecutiveFailures(t *testing.T) {
	clk := new(fakeClock)
	p := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.EjectClock(clk.now)).Build()
	p.Apply(outlierNodes(5))
	seen := picks(t, p, 200, failing("10.0.0.0:80"))
	if got := seen["10.0.0.0:80"]; got != selector.DefaultEjectAfter {
		t.Fatalf("failing node picked %d times in 200 calls, want %d (then ejected); picks %v", got, selector.DefaultEjectAfter, seen)
	}
}

func TestOutlierMaxEjectedShare(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nodes  int
		bad    int
		share  float64
		wantIn int // nodes that must still get picks
	}{
		{"default share keeps 3 of 5", 5, 4, selector.DefaultMaxEjectedShare, 3},
		{"lone node never ejected", 1, 1, selector.DefaultMaxEjectedShare, 1},
		{"share 0 ejects none", 4, 2, 0, 4},
		{"share 1 ejects all failing", 4, 3, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := new(fakeClock)
			p := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.MaxEjectedShare(tc.share),
				selector.EjectClock(clk.now)).Build()
			nodes := outlierNodes(tc.nodes)
			p.Apply(nodes)
			var badAddrs []string
			for _, n := range nodes[:tc.bad] {
				badAddrs = append(badAddrs, n.Address())
			}
			bad := failing(badAddrs...)
			picks(t, p, 50*tc.nodes, bad)
			if got := len(picks(t, p, 50*tc.nodes, bad)); got != tc.wantIn {
				t.Fatalf("%d nodes picked after the failures, want %d", got, tc.wantIn)
			}
		})
	}
}

func TestOutlierWhatCounts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		di    selector.DoneInfo
		count bool // counts as a backend failure
		reset bool // resets the consecutive count
	}{
		{"500", selector.DoneInfo{Err: errors.InternalServer("X", "x")}, true, false},
		{"502", selector.DoneInfo{Err: errors.New(502, "X", "x")}, true, false},
		{"503", selector.DoneInfo{Err: errors.ServiceUnavailable("X", "x")}, true, false},
		{"504", selector.DoneInfo{Err: errors.GatewayTimeout("X", "x")}, true, false},
		{"deadline exceeded", selector.DoneInfo{Err: context.DeadlineExceeded}, true, false},
		{"connection error", selector.DoneInfo{Err: fmt.Errorf("dial tcp: connection refused")}, true, false},
		{"success", selector.DoneInfo{}, false, true},
		{"404", selector.DoneInfo{Err: errors.NotFound("USER_NOT_FOUND", "x")}, false, true},
		{"429", selector.DoneInfo{Err: errors.TooManyRequests("RATELIMIT", "x")}, false, true},
		{"caller canceled", selector.DoneInfo{Err: context.Canceled}, false, false},
		{"abandoned", selector.DoneInfo{Err: errors.ServiceUnavailable("X", "x"), Abandoned: true}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.EjectClock(new(fakeClock).now)).Build()
			p.Apply(outlierNodes(2))
			end := func(di selector.DoneInfo) string {
				n, done, err := p.Select(ctx, selector.WithNodeFilter(onlyAddr("10.0.0.0:80")))
				if err != nil {
					t.Fatal(err)
				}
				done(ctx, di)
				return n.Address()
			}
			fail := selector.DoneInfo{Err: errors.ServiceUnavailable("X", "x")}
			// Four failures, then the outcome under test, then one more failure.
			for range selector.DefaultEjectAfter - 1 {
				end(fail)
			}
			end(tc.di)
			end(fail)
			ejected := picks(t, p, 20, failing())["10.0.0.0:80"] == 0
			if want := (tc.count || !tc.reset); ejected != want {
				t.Fatalf("ejected = %v, want %v", ejected, want)
			}
		})
	}
}

// onlyAddr keeps the nodes with address addr, unless none has it.
func onlyAddr(addr string) selector.NodeFilter {
	return func(_ context.Context, nodes []selector.Node) []selector.Node {
		out := nodes[:0]
		for _, n := range nodes {
			if n.Address() == addr {
				out = append(out, n)
			}
		}
		return out
	}
}

func TestOutlierEjectionBounds(t *testing.T) {
	t.Run("max ejection time", func(t *testing.T) {
		clk := new(fakeClock)
		p := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.EjectionTime(time.Second),
			selector.MaxEjectionTime(2*time.Second), selector.EjectClock(clk.now)).Build()
		p.Apply(outlierNodes(3))
		bad := failing("10.0.0.0:80")
		for i := range 4 {
			if got := picks(t, p, 60, bad)["10.0.0.0:80"]; got != selector.DefaultEjectAfter {
				t.Fatalf("ejection %d: failing node picked %d times, want %d", i+1, got, selector.DefaultEjectAfter)
			}
			clk.advance(2 * time.Second) // never longer than the maximum
		}
	})
	t.Run("healthy time forgives ejections", func(t *testing.T) {
		clk := new(fakeClock)
		p := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.EjectionTime(time.Second),
			selector.EjectClock(clk.now)).Build()
		p.Apply(outlierNodes(3))
		bad := failing("10.0.0.0:80")
		picks(t, p, 60, bad) // ejection 1: 1s
		clk.advance(time.Second)
		picks(t, p, 60, bad) // ejection 2: 2s
		clk.advance(2 * time.Second)
		picks(t, p, 60, failing()) // healthy for 2 base times
		clk.advance(2 * time.Second)
		picks(t, p, 60, bad) // forgiven down to ejection 1 again: 1s
		clk.advance(time.Second)
		if got := picks(t, p, 60, bad)["10.0.0.0:80"]; got != selector.DefaultEjectAfter {
			t.Fatalf("after healthy time, ejection lasted longer than the base time: picked %d, want %d", got, selector.DefaultEjectAfter)
		}
	})
	t.Run("off", func(t *testing.T) {
		p := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.EjectAfter(0)).Build()
		p.Apply(outlierNodes(3))
		if got := picks(t, p, 90, failing("10.0.0.0:80"))["10.0.0.0:80"]; got != 30 {
			t.Fatalf("with ejection off the failing node got %d of 90 picks, want 30", got)
		}
	})
	t.Run("state kept across Apply", func(t *testing.T) {
		clk := new(fakeClock)
		p := selector.NewSelector(selector.Balancer(roundrobin.Name), selector.EjectClock(clk.now)).Build()
		p.Apply(outlierNodes(3))
		picks(t, p, 60, failing("10.0.0.0:80"))
		p.Apply(outlierNodes(4))
		if got := picks(t, p, 60, failing())["10.0.0.0:80"]; got != 0 {
			t.Fatalf("ejected node picked %d times after an Apply that kept it", got)
		}
	})
}

// countingBalancer is round robin with a DoneFunc of its own, which the
// outlier ejection must call through.
type countingBalancer struct {
	next  atomic.Uint64
	dones *atomic.Int64
}

func (b *countingBalancer) Pick(_ context.Context, nodes []selector.WeightedNode) (selector.WeightedNode, selector.DoneFunc, error) {
	n := nodes[(b.next.Add(1)-1)%uint64(len(nodes))]
	n.Pick()
	return n, func(context.Context, selector.DoneInfo) { b.dones.Add(1) }, nil
}

type countingBuilder struct{ dones *atomic.Int64 }

func (c countingBuilder) Build() selector.LoadBalancer { return &countingBalancer{dones: c.dones} }

func TestOutlierKeepsTheBalancersDone(t *testing.T) {
	dones := new(atomic.Int64)
	selector.RegisterBalancer("outlier-test-counting", countingBuilder{dones}, selector.DirectBuilder{})
	p := selector.NewSelector(selector.Balancer("outlier-test-counting"), selector.EjectClock(new(fakeClock).now)).Build()
	p.Apply(outlierNodes(3))
	seen := picks(t, p, 60, failing("10.0.0.0:80"))
	if got := dones.Load(); got != 60 {
		t.Fatalf("balancer's DoneFunc called %d times for 60 picks", got)
	}
	if got := seen["10.0.0.0:80"]; got != selector.DefaultEjectAfter {
		t.Fatalf("failing node picked %d times, want %d (then ejected)", got, selector.DefaultEjectAfter)
	}
}
