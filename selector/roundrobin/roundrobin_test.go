package roundrobin_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/roundrobin"
)

func nodes(n int) []selector.Node {
	var ins []*registry.ServiceInstance
	for i := range n {
		ins = append(ins, &registry.ServiceInstance{ID: fmt.Sprint(i), Name: "svc", Endpoints: []string{fmt.Sprintf("http://10.0.0.%d:80", i)}})
	}
	return selector.NodesFromInstances("http", ins)
}

func TestInTurn(t *testing.T) {
	ctx := context.Background()
	p := selector.NewSelector(selector.Balancer(roundrobin.Name)).Build()
	ns := nodes(3)
	p.Apply(ns)
	for i := range 9 {
		n, done, err := p.Select(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done(ctx, selector.DoneInfo{})
		if want := ns[i%3].Address(); n.Address() != want {
			t.Fatalf("pick %d = %s; want %s", i, n.Address(), want)
		}
	}
}

func TestConcurrentExact(t *testing.T) {
	ctx := context.Background()
	p := selector.NewSelector(selector.Balancer(roundrobin.Name)).Build()
	p.Apply(nodes(4))
	var (
		mu    sync.Mutex
		count = map[string]int{}
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			for range 1000 {
				n, done, _ := p.Select(ctx)
				done(ctx, selector.DoneInfo{})
				local[n.Address()]++
			}
			mu.Lock()
			for k, v := range local {
				count[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for addr, c := range count {
		if c != 1000 {
			t.Errorf("%s picked %d times; want 1000", addr, c)
		}
	}
}

func TestPickElapsed(t *testing.T) {
	ctx := context.Background()
	b := roundrobin.Builder{}.Build()
	wn := selector.DirectBuilder{}.Build(nodes(1)[0])
	got, done, err := b.Pick(ctx, []selector.WeightedNode{wn})
	if err != nil || got != wn || done == nil {
		t.Fatalf("Pick = %v, %v", got, err)
	}
	done(ctx, selector.DoneInfo{})
	if e := wn.PickElapsed(); e < 0 {
		t.Fatalf("PickElapsed = %v", e)
	}
	if wn.Weight() != float64(selector.DefaultWeight) || wn.Raw().Address() != wn.Address() {
		t.Fatalf("Weight = %v, Raw = %v", wn.Weight(), wn.Raw())
	}
}
