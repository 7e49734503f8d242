package metadata

import (
	"context"
	"fmt"
	"testing"
)

func TestCaseInsensitive(t *testing.T) {
	md := New(map[string][]string{"X-MD-Global-Trace": {"t1"}})
	md.Add("x-md-local-Caller", "svc-a")
	md.Add("X-MD-LOCAL-caller", "svc-b")
	if md.Get("x-md-global-trace") != "t1" || md.Get("X-Md-Global-TRACE") != "t1" {
		t.Fatal("keys must be case-insensitive")
	}
	if vs := md.Values("x-md-local-caller"); len(vs) != 2 || vs[1] != "svc-b" {
		t.Fatalf("values = %v", vs)
	}
	md.Set("X-MD-LOCAL-CALLER", "only")
	if vs := md.Values("x-md-local-caller"); len(vs) != 1 {
		t.Fatalf("Set must replace: %v", vs)
	}
	md.Delete("X-MD-LOCAL-CALLER")
	if md.Get("x-md-local-caller") != "" {
		t.Fatal("Delete failed")
	}
}

func TestPairsCloneMerge(t *testing.T) {
	md := Pairs("a", "1", "b", "2", "dangling")
	if len(md) != 2 {
		t.Fatalf("pairs = %v", md)
	}
	c := md.Clone()
	c.Set("a", "changed")
	if md.Get("a") != "1" {
		t.Fatal("Clone shares storage")
	}
	m := md.Merge(Pairs("b", "3", "c", "4"))
	if m.Get("b") != "3" || m.Get("c") != "4" || md.Get("b") != "2" {
		t.Fatalf("merge = %v", m)
	}
	n := 0
	m.Range(func(string, []string) bool { n++; return false })
	if n != 1 {
		t.Fatal("Range must stop when f returns false")
	}
}

func TestPrefixes(t *testing.T) {
	if !IsPropagated("X-Md-Global-Uid") || IsPropagated("x-md-local-uid") || IsPropagated("x-md") {
		t.Fatal("IsPropagated wrong")
	}
	if !IsMetadataKey("x-md-local-a") || !IsMetadataKey("X-MD-GLOBAL-a") || IsMetadataKey("authorization") {
		t.Fatal("IsMetadataKey wrong")
	}
}

func TestContexts(t *testing.T) {
	ctx := context.Background()
	if _, ok := FromServerContext(ctx); ok {
		t.Fatal("empty context has server metadata")
	}
	ctx = NewServerContext(ctx, Pairs("x-md-global-a", "1"))
	md, ok := FromServerContext(ctx)
	if !ok || md.Get("x-md-global-a") != "1" {
		t.Fatal("server metadata lost")
	}
	c1 := AppendToClientContext(ctx, "x-md-global-b", "2")
	c2 := AppendToClientContext(c1, "x-md-local-c", "3")
	out1, _ := FromClientContext(c1)
	out2, _ := FromClientContext(c2)
	if out1.Get("x-md-local-c") != "" {
		t.Fatal("AppendToClientContext modified the parent's metadata")
	}
	if out2.Get("x-md-global-b") != "2" || out2.Get("x-md-local-c") != "3" {
		t.Fatalf("client metadata = %v", out2)
	}
	c3 := MergeToClientContext(c2, Pairs("x-md-global-b", "9"))
	out3, _ := FromClientContext(c3)
	if out3.Get("x-md-global-b") != "9" || out3.Get("x-md-local-c") != "3" {
		t.Fatalf("merged = %v", out3)
	}
}

func ExampleAppendToClientContext() {
	ctx := AppendToClientContext(context.Background(), "X-MD-Global-Tenant", "acme")
	md, _ := FromClientContext(ctx)
	fmt.Println(md.Get("x-md-global-tenant"))
	// Output: acme
}
