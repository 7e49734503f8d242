package filter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/filter"
)

func nodes() []selector.Node {
	return selector.NodesFromInstances("http", []*registry.ServiceInstance{
		{ID: "1", Version: "v1", Metadata: map[string]string{"zone": "a"}, Endpoints: []string{"http://n1:80"}},
		{ID: "2", Version: "v2", Metadata: map[string]string{"zone": "b"}, Endpoints: []string{"http://n2:80"}},
		{ID: "3", Version: "v1", Metadata: map[string]string{"zone": ""}, Endpoints: []string{"http://n3:80"}},
		{ID: "4", Version: "", Endpoints: []string{"http://n4:80"}},
	})
}

func addrs(ns []selector.Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Address())
	}
	return strings.Join(s, " ")
}

func TestFilters(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		f    selector.NodeFilter
		want string
	}{
		{filter.Version("v1"), "n1:80 n3:80"},
		{filter.Version("v3"), ""},
		{filter.Version(""), "n4:80"},
		{filter.Metadata("zone", "a"), "n1:80"},
		{filter.Metadata("zone", ""), "n3:80"},
		{filter.Metadata("rack", "x"), ""},
	} {
		if got := addrs(tc.f(ctx, nodes())); got != tc.want {
			t.Errorf("filter kept %q; want %q", got, tc.want)
		}
	}
	if got := filter.Version("v1")(ctx, nil); len(got) != 0 {
		t.Errorf("filter of nil = %v", got)
	}
}

func ExampleMetadata() {
	ns := selector.NodesFromInstances("http", []*registry.ServiceInstance{
		{ID: "1", Metadata: map[string]string{"zone": "eu-1"}, Endpoints: []string{"http://10.0.0.1:80"}},
		{ID: "2", Metadata: map[string]string{"zone": "us-1"}, Endpoints: []string{"http://10.0.0.2:80"}},
	})
	sl := selector.NewSelector(selector.Filter(filter.Metadata("zone", "eu-1")))
	p := sl.Build()
	p.Apply(ns)
	n, done, _ := p.Select(context.Background())
	defer done(context.Background(), selector.DoneInfo{})
	fmt.Println(n.Address())
	// Output: 10.0.0.1:80
}
