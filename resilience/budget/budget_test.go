package budget_test

import (
	"testing"
	"time"

	"github.com/zelos-go/zelos/resilience/budget"
)

type clock struct{ t int64 }

func (c *clock) now() int64 { return c.t }

func retries(b *budget.Budget, n int) int {
	got := 0
	for range n {
		if b.Retry() {
			got++
		}
	}
	return got
}

func TestBudgetRatio(t *testing.T) {
	c := &clock{}
	b := budget.New(budget.WithClock(c.now), budget.WithMinPerSecond(0))
	for range 1000 {
		b.Request()
	}
	if got := retries(b, 1000); got != 100 {
		t.Fatalf("1000 requests allowed %d retries, want 100", got)
	}
}

func TestBudgetFloor(t *testing.T) {
	c := &clock{}
	b := budget.New(budget.WithClock(c.now), budget.WithMinPerSecond(2), budget.WithTTL(5*time.Second))
	if got := retries(b, 100); got != 10 {
		t.Fatalf("with no requests %d retries allowed, want the floor of 2/s × 5 s = 10", got)
	}
}

func TestBudgetExpires(t *testing.T) {
	c := &clock{}
	b := budget.New(budget.WithClock(c.now), budget.WithMinPerSecond(0), budget.WithRatio(0.5))
	for range 10 {
		b.Request()
	}
	if got := retries(b, 10); got != 5 {
		t.Fatalf("retries = %d, want 5", got)
	}
	c.t += int64(11 * time.Second)
	if b.Retry() {
		t.Fatal("requests older than the TTL still funded a retry")
	}
}

func TestBudgetAmplification(t *testing.T) {
	// Every backend call fails and the client would retry each request 3
	// times: the budget keeps the backend's load near 1.1× the requests.
	c := &clock{}
	b := budget.New(budget.WithClock(c.now))
	const n = 10_000
	calls := 0
	for range n {
		b.Request()
		calls++
		for range 3 {
			if !b.Retry() {
				break
			}
			calls++
		}
		c.t += int64(time.Millisecond) // 1000 requests per second
	}
	if ratio := float64(calls) / n; ratio > 1.2 {
		t.Fatalf("backend saw %.2f× the requests, want ≤ 1.2×", ratio)
	}
}

func BenchmarkBudget(b *testing.B) {
	bg := budget.New()
	b.ReportAllocs()
	for b.Loop() {
		bg.Request()
		bg.Retry()
	}
}
