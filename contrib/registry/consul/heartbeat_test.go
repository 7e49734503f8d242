package consul_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/contrib/registry/consul"
	"github.com/zelos-go/zelos/log"
)

// retryLogger records the retry_in of every failed re-registration.
type retryLogger struct {
	mu      sync.Mutex
	retries []time.Duration
}

func (l *retryLogger) Log(_ log.Level, kv ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "retry_in" {
			d, _ := time.ParseDuration(kv[i+1].(string))
			l.retries = append(l.retries, d)
		}
	}
	return nil
}

func (l *retryLogger) list() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.retries...)
}

// TestHeartbeatBacksOffWhileAgentDown: while the agent is down the
// heartbeat tries to register again with backoff, sooner than its
// interval, and the instance is back once the agent is.
func TestHeartbeatBacksOffWhileAgentDown(t *testing.T) {
	f := newFakeConsul(t)
	ctx := context.Background()
	logger := &retryLogger{}
	// A TTL of 3s: heartbeats every 1s.
	r := consul.New(f.client(t), consul.WithTTL(3*time.Second), consul.WithLogger(logger))
	a := instance("svc", "a")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	nextIDs(t, w, "a")

	f.down.Store(true)
	f.forget("a")
	nextIDs(t, w, "")
	deadline := time.Now().Add(15 * time.Second)
	for len(logger.list()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("retries logged: %v, want 3", logger.list())
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := logger.list()[:3]
	// backoff.Reconnect with ±20% jitter, capped at the 1s interval.
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		if got[i] < want*8/10 || got[i] > want*12/10 {
			t.Errorf("retry %d in %v, want %v ±20%%", i, got[i], want)
		}
	}
	f.down.Store(false)
	nextIDs(t, w, "a")
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}
