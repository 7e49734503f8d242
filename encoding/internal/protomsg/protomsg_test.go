package protomsg

import (
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestTarget(t *testing.T) {
	m := wrapperspb.String("x")
	if got, ok := Target(m); !ok || got != m {
		t.Fatal("a message must be its own target")
	}
	var p *wrapperspb.StringValue
	got, ok := Target(&p)
	if !ok || p == nil || got != p {
		t.Fatal("a **M with a nil *M must be allocated and returned")
	}
	for _, v := range []any{nil, "s", new(int), (**wrapperspb.StringValue)(nil)} {
		if _, ok := Target(v); ok {
			t.Errorf("Target(%T) accepted a non-message", v)
		}
	}
}
