package clustertest_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/internal/clustertest"
	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestInMemory runs the cluster scenario on the in-memory registry. Its
// registrations never expire, so a crashed instance stays listed: the
// client must route around it by its connection state alone.
func TestInMemory(t *testing.T) {
	r := registry.NewInMemory()
	clustertest.Run(t, clustertest.Env{
		NewRegistrar: func(testing.TB) (registry.Registrar, func()) { return clustertest.Crashable(r) },
		Discovery:    r,
	})
}

// TestCrashable checks the wrapper: Deregister passes through until crash,
// and does nothing after.
func TestCrashable(t *testing.T) {
	ctx := context.Background()
	mem := registry.NewInMemory()
	r, crash := clustertest.Crashable(mem)
	a := &registry.ServiceInstance{ID: "a", Name: "echo", Endpoints: []string{"grpc://127.0.0.1:1"}}
	b := &registry.ServiceInstance{ID: "b", Name: "echo", Endpoints: []string{"grpc://127.0.0.1:2"}}
	for _, in := range []*registry.ServiceInstance{a, b} {
		if err := r.Register(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
	crash()
	if err := r.Deregister(ctx, b); err != nil {
		t.Fatal(err)
	}
	list, err := mem.GetService(ctx, "echo")
	if err != nil || len(list) != 1 || list[0].ID != "b" {
		t.Fatalf("after deregistering a, crashing, deregistering b: %v, %v; want only b", list, err)
	}
	if err := r.Register(ctx, &registry.ServiceInstance{Name: "echo"}); err == nil {
		t.Fatal("Register of an instance without ID succeeded; the wrapper must pass errors through")
	}
}
