package breaker_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/resilience/breaker"
)

type fakeClock struct {
	mu sync.Mutex
	t  int64
}

func (c *fakeClock) now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t += int64(d)
	c.mu.Unlock()
}

// call runs one call through b with the given outcome and reports whether
// the breaker let it through.
func call(b breaker.Breaker, fail bool) bool {
	t, err := b.Allow()
	if err != nil {
		if !errors.Is(err, breaker.ErrOpen) {
			panic(err)
		}
		return false
	}
	if fail {
		b.Failure(t)
	} else {
		b.Success(t)
	}
	return true
}

func TestRatioTripsOnFailureStorm(t *testing.T) {
	// The case: 5 successes, then a backend failing 40 in a row.
	c := &fakeClock{}
	b := breaker.NewRatio(0.6, breaker.WithClock(c.now), breaker.WithWindow(60*time.Second))
	for range 5 {
		call(b, false)
	}
	passed := 0
	for range 40 {
		if call(b, true) {
			passed++
		}
	}
	if b.State() != breaker.Open {
		t.Fatalf("state = %v after 40 failures, want open", b.State())
	}
	// 5 successes + 15 failures = 20 calls at 75% failures trips it.
	if passed != 15 {
		t.Fatalf("%d failing calls reached the backend, want 15", passed)
	}
}

func TestRatioNeedsMinRequests(t *testing.T) {
	c := &fakeClock{}
	b := breaker.NewRatio(0.5, breaker.WithClock(c.now), breaker.WithMinRequests(10))
	for range 9 {
		call(b, true)
	}
	if b.State() != breaker.Closed {
		t.Fatal("tripped below the minimum request count")
	}
	call(b, true)
	if b.State() != breaker.Open {
		t.Fatal("did not trip at the minimum request count")
	}
}

func TestRatioHalfOpenProbes(t *testing.T) {
	c := &fakeClock{}
	var changes []string
	b := breaker.NewRatio(0.5, breaker.WithClock(c.now), breaker.WithMinRequests(2),
		breaker.WithTimeout(5*time.Second), breaker.WithMaxRequests(3),
		breaker.WithStateChange(func(from, to breaker.State) { changes = append(changes, from.String()+">"+to.String()) }))
	call(b, true)
	call(b, true)
	if call(b, false) {
		t.Fatal("an open breaker let a call through")
	}
	c.advance(5 * time.Second)
	if b.State() != breaker.HalfOpen {
		t.Fatalf("state after the timeout = %v, want half-open", b.State())
	}
	// Three probes may be in flight at once; a fourth is rejected.
	var ts []breaker.Ticket
	for range 3 {
		tk, err := b.Allow()
		if err != nil {
			t.Fatalf("probe rejected: %v", err)
		}
		ts = append(ts, tk)
	}
	if _, err := b.Allow(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("fourth probe: err = %v, want ErrOpen", err)
	}
	for _, tk := range ts {
		b.Success(tk)
	}
	if b.State() != breaker.Closed {
		t.Fatalf("state after 3 good probes = %v, want closed", b.State())
	}
	want := []string{"closed>open", "open>half-open", "half-open>closed"}
	if len(changes) != len(want) {
		t.Fatalf("changes = %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes = %v, want %v", changes, want)
		}
	}
}

func TestRatioHalfOpenFailureReopens(t *testing.T) {
	c := &fakeClock{}
	b := breaker.NewRatio(0.5, breaker.WithClock(c.now), breaker.WithMinRequests(1), breaker.WithTimeout(time.Second))
	call(b, true)
	c.advance(time.Second)
	if !call(b, true) {
		t.Fatal("half-open breaker rejected its probe")
	}
	if b.State() != breaker.Open {
		t.Fatalf("state after a failed probe = %v, want open", b.State())
	}
	c.advance(999 * time.Millisecond)
	if call(b, false) {
		t.Fatal("reopened breaker let a call through before its timeout")
	}
}

func TestRatioStaleOutcomeIgnored(t *testing.T) {
	// A slow call allowed while closed must not move a breaker that has
	// since opened and half-opened.
	c := &fakeClock{}
	b := breaker.NewRatio(0.5, breaker.WithClock(c.now), breaker.WithMinRequests(1), breaker.WithTimeout(time.Second))
	slow, _ := b.Allow()
	call(b, true) // opens
	c.advance(time.Second)
	b.Success(slow)
	if b.State() != breaker.HalfOpen {
		t.Fatalf("state = %v, want half-open: a stale success closed it", b.State())
	}
}

func TestRatioWindowRollsOut(t *testing.T) {
	c := &fakeClock{}
	b := breaker.NewRatio(0.5, breaker.WithClock(c.now), breaker.WithMinRequests(4), breaker.WithWindow(10*time.Second))
	call(b, true)
	call(b, true)
	call(b, true)
	c.advance(11 * time.Second) // the failures left the window
	call(b, true)
	call(b, false)
	call(b, false)
	call(b, false)
	if b.State() != breaker.Closed {
		t.Fatalf("state = %v: failures older than the window counted", b.State())
	}
}

func TestNewRatioPanics(t *testing.T) {
	for _, r := range []float64{0, -1, 1.5} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRatio(%v) did not panic", r)
				}
			}()
			breaker.NewRatio(r)
		}()
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[breaker.State]string{breaker.Closed: "closed", breaker.Open: "open", breaker.HalfOpen: "half-open", 9: "unknown"} {
		if s.String() != want {
			t.Errorf("State(%d).String() = %q, want %q", s, s.String(), want)
		}
	}
}

// seq is a deterministic stand-in for rand.Float64.
func seq() func() float64 {
	x := 0.0
	return func() float64 {
		x += 0.618033988749895
		if x >= 1 {
			x--
		}
		return x
	}
}

func TestSREThrottlesAndRecovers(t *testing.T) {
	c := &fakeClock{}
	var mu sync.Mutex
	var changes []string
	b := breaker.NewSRE(breaker.WithClock(c.now), breaker.WithRand(seq()), breaker.WithWindow(10*time.Second),
		breaker.WithStateChange(func(from, to breaker.State) {
			mu.Lock()
			changes = append(changes, to.String())
			mu.Unlock()
		}))
	// Healthy: nothing rejected.
	for range 200 {
		if !call(b, false) {
			t.Fatal("rejected a call to a healthy backend")
		}
		c.advance(10 * time.Millisecond)
	}
	// The backend fails every call for 20 s, at 100 calls per second. Once
	// the successes of the healthy time left the window, few calls reach it.
	reached := 0
	for i := range 2000 {
		if call(b, true) && i >= 1000 {
			reached++
		}
		c.advance(10 * time.Millisecond)
	}
	if b.State() != breaker.Open {
		t.Fatalf("state = %v during the outage, want open", b.State())
	}
	if reached > 100 {
		t.Fatalf("%d of the last 1000 calls reached a dead backend; the throttle shed too little", reached)
	}
	if reached == 0 {
		t.Fatal("no call reached the backend: it could never be seen to recover")
	}
	// The backend heals. Within two windows every call passes again.
	rejectedLate := 0
	for i := range 2000 {
		if !call(b, false) && i >= 1000 {
			rejectedLate++
		}
		c.advance(10 * time.Millisecond)
	}
	if rejectedLate != 0 || b.State() != breaker.Closed {
		t.Fatalf("%d rejections in the second window after recovery, state %v", rejectedLate, b.State())
	}
	if len(changes) < 2 || changes[0] != "open" || changes[len(changes)-1] != "closed" {
		t.Fatalf("state changes = %v, want open ... closed", changes)
	}
}

func TestSREMinRequests(t *testing.T) {
	c := &fakeClock{}
	b := breaker.NewSRE(breaker.WithClock(c.now), breaker.WithMinRequests(50), breaker.WithRand(seq()))
	for range 49 {
		if !call(b, true) {
			t.Fatal("rejected below the minimum request count")
		}
	}
	if p := b.RejectProbability(); p != 0 {
		t.Fatalf("reject probability = %v below the minimum, want 0", p)
	}
	call(b, true)
	if p := b.RejectProbability(); p < 0.9 {
		t.Fatalf("reject probability = %v after 50 failures, want > 0.9", p)
	}
}

func TestSREK(t *testing.T) {
	// With K = 2 a backend failing 40% of calls is not throttled: 2 × 60 > 100.
	c := &fakeClock{}
	b := breaker.NewSRE(breaker.WithClock(c.now), breaker.WithK(2), breaker.WithRand(seq()))
	for i := range 100 {
		call(b, i%5 < 2)
	}
	if p := b.RejectProbability(); p != 0 {
		t.Fatalf("reject probability = %v, want 0", p)
	}
}

func BenchmarkRatio(b *testing.B) {
	br := breaker.NewRatio(0.5)
	b.ReportAllocs()
	for b.Loop() {
		t, _ := br.Allow()
		br.Success(t)
	}
}

func BenchmarkSRE(b *testing.B) {
	br := breaker.NewSRE()
	b.ReportAllocs()
	for b.Loop() {
		t, _ := br.Allow()
		br.Success(t)
	}
}
