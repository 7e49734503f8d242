package wrr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/filter"
	"github.com/zelos-go/zelos/selector/wrr"
)

func weighted(weights ...string) []selector.Node {
	var ins []*registry.ServiceInstance
	for i, w := range weights {
		name := string(rune('a' + i))
		ins = append(ins, &registry.ServiceInstance{
			ID: name, Name: "svc", Version: name,
			Metadata:  map[string]string{"weight": w},
			Endpoints: []string{"http://" + name + ":80"},
		})
	}
	return selector.NodesFromInstances("http", ins)
}

func sequence(t *testing.T, p selector.Picker, n int, opts ...selector.SelectOption) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for range n {
		node, done, err := p.Select(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		done(ctx, selector.DoneInfo{})
		b.WriteString(strings.TrimSuffix(node.Address(), ":80"))
	}
	return b.String()
}

func TestSmoothSequence(t *testing.T) {
	p := selector.NewSelector(selector.Balancer(wrr.Name)).Build()
	p.Apply(weighted("5", "1", "1"))
	if got := sequence(t, p, 14); got != "aabacaa"+"aabacaa" {
		t.Fatalf("sequence = %s; want aabacaa twice", got)
	}
}

func TestDistribution(t *testing.T) {
	p := selector.NewSelector(selector.Balancer(wrr.Name)).Build()
	p.Apply(weighted("30", "", "7")) // "" is the default weight, 100
	got := map[rune]int{}
	for _, c := range sequence(t, p, 137*10) {
		got[c]++
	}
	if got['a'] != 300 || got['b'] != 1000 || got['c'] != 70 {
		t.Fatalf("picks = a:%d b:%d c:%d; want 300 1000 70", got['a'], got['b'], got['c'])
	}
}

func TestApplyKeepsPosition(t *testing.T) {
	p := selector.NewSelector(selector.Balancer(wrr.Name)).Build()
	p.Apply(weighted("5", "1", "1"))
	first := sequence(t, p, 3)
	p.Apply(weighted("5", "1", "1")) // same nodes: the sequence goes on
	if got := first + sequence(t, p, 4); got != "aabacaa" {
		t.Fatalf("sequence across Apply = %s; want aabacaa", got)
	}
}

func TestFiltered(t *testing.T) {
	p := selector.NewSelector(selector.Balancer(wrr.Name)).Build()
	p.Apply(weighted("5", "2", "1"))
	notA := func(_ context.Context, ns []selector.Node) []selector.Node {
		return ns[1:]
	}
	// Smooth wrr over the remaining nodes, weights 2 and 1.
	if got := sequence(t, p, 6, selector.WithNodeFilter(notA)); got != "bcbbcb" {
		t.Fatalf("filtered sequence = %s; want bcbbcb", got)
	}
	if got := sequence(t, p, 3, selector.WithNodeFilter(filter.Version("c"))); got != "ccc" {
		t.Fatalf("sequence = %s; want ccc", got)
	}
}

func TestForeignNode(t *testing.T) {
	b := wrr.Builder{}.Build()
	n := selector.DirectBuilder{}.Build(selector.NewNode("http", "x:1", nil))
	_, _, err := b.Pick(context.Background(), []selector.WeightedNode{n})
	if err == nil || !strings.Contains(err.Error(), "x:1") {
		t.Fatalf("Pick over a foreign node = %v; want an error naming it", err)
	}
}

func ExampleName() {
	ctx := context.Background()
	p := selector.NewSelector(selector.Balancer(wrr.Name)).Build()
	p.Apply(selector.NodesFromInstances("http", []*registry.ServiceInstance{
		{ID: "a", Name: "svc", Metadata: map[string]string{"weight": "5"}, Endpoints: []string{"http://a:80"}},
		{ID: "b", Name: "svc", Metadata: map[string]string{"weight": "1"}, Endpoints: []string{"http://b:80"}},
		{ID: "c", Name: "svc", Metadata: map[string]string{"weight": "1"}, Endpoints: []string{"http://c:80"}},
	}))
	for range 7 {
		node, done, _ := p.Select(ctx)
		fmt.Print(node.Address(), " ")
		done(ctx, selector.DoneInfo{})
	}
	fmt.Println()
	// Output:
	// a:80 a:80 b:80 a:80 c:80 a:80 a:80
}
