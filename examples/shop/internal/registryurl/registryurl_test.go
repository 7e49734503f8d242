package registryurl

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

func TestOpen(t *testing.T) {
	logger := log.NewStdLogger(io.Discard)
	for _, tc := range []struct {
		name, url string
		want      string // error substring; "" = opens
	}{
		{"default", "", ""},
		{"memory", "memory", ""},
		{"memory url", "memory://", ""},
		// etcd's client connects lazily, so an unreachable host opens.
		{"etcd", "etcd://127.0.0.1:1,127.0.0.1:2", ""},
		{"consul", "consul://127.0.0.1:1", ""},
		{"etcd without host", "etcd://", "no etcd host"},
		{"two consul agents", "consul://a:1,b:2", "want one consul agent"},
		{"unknown", "zk://h:2181", "unknown registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, closeReg, err := Open(tc.url, logger)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "registryurl: ") {
					t.Fatalf("err = %v, want registryurl: ...%s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeReg()
			if r == nil {
				t.Fatal("nil registry")
			}
		})
	}
}

func TestMemoryRegistersAndFinds(t *testing.T) {
	r, closeReg, err := Open("memory", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeReg()
	ctx := context.Background()
	in := &registry.ServiceInstance{ID: "1", Name: "user.service", Endpoints: []string{"grpc://127.0.0.1:9001"}}
	if err := r.Register(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := r.GetService(ctx, "user.service")
	if err != nil || len(got) != 1 || got[0].ID != "1" {
		t.Fatalf("GetService = %v, %v", got, err)
	}
}
