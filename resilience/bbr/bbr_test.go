package bbr

import (
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() int64              { return c.t.Load() }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

// cpu is a settable CPU source.
type cpu struct{ v atomic.Value }

func newCPU(v float64) *cpu   { c := &cpu{}; c.v.Store(v); return c }
func (c *cpu) set(v float64)  { c.v.Store(v) }
func (c *cpu) Usage() float64 { return c.v.Load().(float64) }

// warm runs a second of traffic: per 100 ms slice, 100 requests of 10 ms
// each, so the capacity is 1000/s × 10 ms = 10 in flight.
func warm(t *testing.T, l *Limiter, c *clock) {
	t.Helper()
	for range 10 {
		for range 100 {
			tk, err := l.Allow()
			if err != nil {
				t.Fatalf("shed while warming: %v", err)
			}
			c.advance(10 * time.Millisecond)
			l.Done(tk)
			c.advance(-10 * time.Millisecond)
			c.advance(time.Millisecond)
		}
	}
}

func newLimiter(c *clock, u CPU) *Limiter {
	return New(WithClock(c.now), WithCPU(u), WithWindow(time.Second), WithBuckets(10))
}

func TestColdLimiterAdmitsAll(t *testing.T) {
	c := &clock{}
	l := newLimiter(c, newCPU(1))
	if l.MaxInFlight() != math.MaxInt64 {
		t.Fatalf("cold MaxInFlight = %d", l.MaxInFlight())
	}
	for range 1000 {
		if _, err := l.Allow(); err != nil {
			t.Fatal("a cold limiter shed")
		}
	}
}

func TestShedsBeyondCapacityWhenHot(t *testing.T) {
	c := &clock{}
	u := newCPU(0.95)
	l := newLimiter(c, u)
	warm(t, l, c)
	if got := l.MaxInFlight(); got != 10 {
		t.Fatalf("MaxInFlight = %d, want 10 (1000/s × 10ms)", got)
	}
	admitted := 0
	for range 50 {
		if _, err := l.Allow(); err == nil {
			admitted++
		} else if !errors.Is(err, ErrLimitExceeded) {
			t.Fatal(err)
		}
	}
	if admitted != 10 || l.InFlight() != 10 {
		t.Fatalf("admitted %d (in flight %d) of 50 with a hot CPU, want 10", admitted, l.InFlight())
	}
}

func TestNoSheddingWhenCool(t *testing.T) {
	c := &clock{}
	l := newLimiter(c, newCPU(0.2))
	warm(t, l, c)
	for range 50 {
		if _, err := l.Allow(); err != nil {
			t.Fatal("shed with a cool CPU and no recent drop")
		}
	}
}

func TestCooldownKeepsShedding(t *testing.T) {
	c := &clock{}
	u := newCPU(0.95)
	l := New(WithClock(c.now), WithCPU(u), WithWindow(time.Second), WithBuckets(10), WithCooldown(time.Second))
	warm(t, l, c)
	for range 20 {
		l.Allow()
	}
	u.set(0.1)
	if _, err := l.Allow(); err == nil {
		t.Fatal("admitted past capacity right after shedding: no cooldown")
	}
	c.advance(1100 * time.Millisecond)
	if _, err := l.Allow(); err != nil {
		t.Fatalf("still shedding after the cooldown with a cool CPU: %v", err)
	}
}

func TestDefaultsAndOptions(t *testing.T) {
	l := New(WithCPUThreshold(2), WithBuckets(1), WithWindow(-1), WithCooldown(-1)) // invalid values ignored
	if l.threshold != 0.8 || l.cooldown != int64(time.Second) || l.perSecond != 10 {
		t.Fatalf("defaults not kept: threshold %v cooldown %v perSecond %v", l.threshold, l.cooldown, l.perSecond)
	}
	if l.cpu == nil {
		t.Fatal("no default CPU source")
	}
	if CPUFunc(func() float64 { return 0.5 }).Usage() != 0.5 {
		t.Fatal("CPUFunc")
	}
}

func BenchmarkAllowDone(b *testing.B) {
	l := New(WithCPU(CPUFunc(func() float64 { return 0.9 })))
	b.ReportAllocs()
	for b.Loop() {
		t, err := l.Allow()
		if err == nil {
			l.Done(t)
		}
	}
}
