package selector_test

import (
	"context"
	"testing"

	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/roundrobin"
)

func TestTriedPrefersOtherNodes(t *testing.T) {
	for _, balancer := range []string{"p2c", roundrobin.Name} {
		t.Run(balancer, func(t *testing.T) {
			p := selector.NewSelector(selector.Balancer(balancer)).Build()
			p.Apply([]selector.Node{
				selector.NewNode("http", "10.0.0.1:80", nil),
				selector.NewNode("http", "10.0.0.2:80", nil),
				selector.NewNode("http", "10.0.0.3:80", nil),
			})
			tried := new(selector.Tried)
			ctx := selector.NewTriedContext(context.Background(), tried)
			seen := map[string]bool{}
			for range 3 {
				n, done, err := p.Select(ctx)
				if err != nil {
					t.Fatal(err)
				}
				done(ctx, selector.DoneInfo{})
				if seen[n.Address()] {
					t.Fatalf("picked %s again before trying every node (tried %d)", n.Address(), tried.Len())
				}
				seen[n.Address()] = true
			}
			if tried.Len() != 3 {
				t.Errorf("tried %d; want the 3 picks recorded", tried.Len())
			}
			// Every node tried: a retry still gets one.
			if _, _, err := p.Select(ctx); err != nil {
				t.Errorf("Select with every node tried: %v", err)
			}
		})
	}
}

func TestTriedSet(t *testing.T) {
	var tr selector.Tried
	for _, a := range []string{"a", "b", "c", "d", "e", "a"} {
		tr.Add(a)
	}
	if tr.Len() != 5 || !tr.Contains("e") || !tr.Contains("a") || tr.Contains("z") {
		t.Errorf("Len %d, e %v, a %v, z %v; want 5, true, true, false", tr.Len(), tr.Contains("e"), tr.Contains("a"), tr.Contains("z"))
	}
	if selector.TriedFromContext(context.Background()) != nil {
		t.Error("a Tried from a context without one")
	}
	ctx := selector.NewTriedContext(context.Background(), &tr)
	if selector.TriedFromContext(ctx) != &tr || ctx.Value(selector.TriedContextKey()) != &tr {
		t.Error("the Tried does not come back from its context")
	}
}
