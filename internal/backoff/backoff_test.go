package backoff_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/zelos-go/zelos/internal/backoff"
)

func constRand(v float64) func() float64 { return func() float64 { return v } }

func TestPolicyDelay(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name   string
		policy backoff.Policy
		want   []time.Duration // for attempts 0, 1, 2, ...
	}{
		{"zero policy waits nothing", backoff.Policy{}, []time.Duration{0, 0, 0}},
		{"exponential doubles", backoff.Policy{Base: 100 * ms}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"exponential capped", backoff.Policy{Base: 100 * ms, Max: 300 * ms}, []time.Duration{100 * ms, 200 * ms, 300 * ms, 300 * ms}},
		{"exponential multiplier", backoff.Policy{Base: 10 * ms, Multiplier: 3}, []time.Duration{10 * ms, 30 * ms, 90 * ms}},
		{"multiplier below 1 is 1", backoff.Policy{Base: 10 * ms, Multiplier: 0.5}, []time.Duration{10 * ms, 10 * ms, 10 * ms}},
		{"linear adds base", backoff.Policy{Kind: backoff.Linear, Base: 100 * ms}, []time.Duration{100 * ms, 200 * ms, 300 * ms}},
		{"linear capped", backoff.Policy{Kind: backoff.Linear, Base: 100 * ms, Max: 250 * ms}, []time.Duration{100 * ms, 200 * ms, 250 * ms}},
		{"constant", backoff.Policy{Kind: backoff.Constant, Base: 50 * ms}, []time.Duration{50 * ms, 50 * ms, 50 * ms}},
		{"jitter at the middle draw is exact", backoff.Policy{Base: 100 * ms, Jitter: 0.2, Rand: constRand(0.5)}, []time.Duration{100 * ms, 200 * ms}},
		{"jitter low draw", backoff.Policy{Base: 100 * ms, Jitter: 0.2, Rand: constRand(0)}, []time.Duration{80 * ms, 160 * ms}},
		{"jitter high draw", backoff.Policy{Base: 100 * ms, Jitter: 0.2, Rand: constRand(0.75)}, []time.Duration{110 * ms, 220 * ms}},
		{"jitter above max is mirrored below it", backoff.Policy{Base: 100 * ms, Max: 100 * ms, Jitter: 0.2, Rand: constRand(0.75)}, []time.Duration{90 * ms, 90 * ms}},
		{"jitter clamped to 1", backoff.Policy{Base: 100 * ms, Jitter: 5, Rand: constRand(0)}, []time.Duration{0, 0}},
		{"negative jitter is none", backoff.Policy{Base: 100 * ms, Jitter: -1, Rand: constRand(0)}, []time.Duration{100 * ms}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, want := range tc.want {
				if got := tc.policy.Delay(i); got != want {
					t.Errorf("Delay(%d) = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestPolicyDelayBounds(t *testing.T) {
	t.Run("huge attempt saturates instead of overflowing", func(t *testing.T) {
		p := backoff.Policy{Base: time.Second}
		if got := p.Delay(math.MaxInt32); got != time.Duration(math.MaxInt64) {
			t.Errorf("Delay(MaxInt32) = %v, want the largest Duration", got)
		}
		if got := (backoff.Policy{Base: time.Second, Max: time.Minute}).Delay(1 << 20); got != time.Minute {
			t.Errorf("capped Delay(1<<20) = %v, want 1m", got)
		}
	})
	t.Run("negative attempt is the first", func(t *testing.T) {
		p := backoff.Policy{Base: time.Second}
		if got := p.Delay(-3); got != time.Second {
			t.Errorf("Delay(-3) = %v, want 1s", got)
		}
	})
	t.Run("default rand stays within the jitter", func(t *testing.T) {
		p := backoff.Policy{Base: 100 * time.Millisecond, Max: 150 * time.Millisecond, Jitter: 0.2}
		for i := range 1000 {
			d := p.Delay(i % 4)
			if d < 80*time.Millisecond || d > 150*time.Millisecond {
				t.Fatalf("Delay(%d) = %v, outside [80ms, 150ms]", i%4, d)
			}
		}
	})
}

func TestBackoff(t *testing.T) {
	b := backoff.Policy{Base: time.Millisecond, Max: 4 * time.Millisecond}.Start()
	var got []time.Duration
	for range 4 {
		got = append(got, b.Next())
	}
	want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Next delays = %v, want %v", got, want)
		}
	}
	if b.Attempt() != 4 {
		t.Errorf("Attempt() = %d, want 4", b.Attempt())
	}
	b.Reset()
	if b.Attempt() != 0 || b.Next() != time.Millisecond {
		t.Errorf("after Reset: want attempt 0 and the first delay again")
	}
}

func TestReconnect(t *testing.T) {
	p := backoff.Reconnect()
	p.Rand = constRand(0.5)
	if p.Delay(0) != 100*time.Millisecond || p.Delay(10) != 5*time.Second {
		t.Errorf("Reconnect delays = %v .. %v, want 100ms .. 5s", p.Delay(0), p.Delay(10))
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[backoff.Kind]string{backoff.Exponential: "exponential", backoff.Linear: "linear", backoff.Constant: "constant", 9: "unknown"} {
		t.Run(want, func(t *testing.T) {
			if k.String() != want {
				t.Errorf("String() = %q, want %q", k.String(), want)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	t.Run("waits", func(t *testing.T) {
		start := time.Now()
		if err := backoff.Sleep(context.Background(), nil, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) < 10*time.Millisecond {
			t.Error("Sleep returned early")
		}
	})
	t.Run("zero returns at once", func(t *testing.T) {
		if err := backoff.Sleep(context.Background(), nil, 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("done context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := backoff.Sleep(ctx, nil, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sleep = %v, want context.Canceled", err)
		}
	})
	t.Run("context done while waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if err := (backoff.SystemClock{}).Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Sleep = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("fake clock", func(t *testing.T) {
		c := &fakeClock{}
		if err := backoff.Sleep(context.Background(), c, time.Hour); err != nil {
			t.Fatal(err)
		}
		if len(c.slept) != 1 || c.slept[0] != time.Hour {
			t.Errorf("slept %v, want [1h]", c.slept)
		}
	})
	t.Run("system now", func(t *testing.T) {
		if d := time.Since((backoff.SystemClock{}).Now()); d < 0 || d > time.Minute {
			t.Errorf("Now is %v away", d)
		}
	})
}

type fakeClock struct{ slept []time.Duration }

func (c *fakeClock) Now() time.Time { return time.Unix(0, 0) }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	return nil
}

func TestDelayAllocs(t *testing.T) {
	p := backoff.Policy{Base: time.Millisecond, Max: time.Second, Jitter: 0.2}
	b := p.Start()
	n := testing.AllocsPerRun(1000, func() {
		_ = p.Delay(3)
		_ = b.Next()
	})
	if n != 0 {
		t.Errorf("Delay and Next allocate %v times, want 0", n)
	}
}

func BenchmarkDelay(b *testing.B) {
	p := backoff.Policy{Base: time.Millisecond, Max: time.Second, Jitter: 0.2}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = p.Delay(i & 15)
	}
}
