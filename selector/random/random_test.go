package random_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/random"
)

func TestRoughlyEven(t *testing.T) {
	ctx := context.Background()
	var ins []*registry.ServiceInstance
	for i := range 3 {
		ins = append(ins, &registry.ServiceInstance{ID: fmt.Sprint(i), Name: "svc", Endpoints: []string{fmt.Sprintf("http://10.0.0.%d:80", i)}})
	}
	p := selector.NewSelector(selector.Balancer(random.Name)).Build()
	p.Apply(selector.NodesFromInstances("http", ins))
	const per = 3000
	count := map[string]int{}
	for range 3 * per {
		n, done, err := p.Select(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done(ctx, selector.DoneInfo{})
		count[n.Address()]++
	}
	// The standard deviation is about 26; allow about ten of them.
	for addr, c := range count {
		if c < per*3/4 || c > per*5/4 {
			t.Errorf("%s picked %d times; want about %d", addr, c, per)
		}
	}
	if len(count) != 3 {
		t.Fatalf("picked %d nodes; want 3", len(count))
	}
}
