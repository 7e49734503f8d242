package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/order"
)

// TestRun runs the binary's main path with -conf and -registry, on free
// ports, until its context ends.
func TestRun(t *testing.T) {
	for _, k := range []string{"HTTP_ADDR", "GRPC_ADDR", "ADMIN_ADDR"} {
		t.Setenv(k, "127.0.0.1:0")
	}
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("DRAIN_DELAY", "0s")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runner.Run(ctx, "order", order.DefaultConfig, []string{"-conf", "../../configs", "-registry", "memory"}, io.Discard, newApp)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	t.Run("a registry it does not know", func(t *testing.T) {
		err := runner.Run(context.Background(), "order", order.DefaultConfig, []string{"-registry", "zookeeper://h"}, io.Discard, newApp)
		if err == nil || !strings.Contains(err.Error(), "zookeeper") {
			t.Errorf("err %v", err)
		}
	})
}
