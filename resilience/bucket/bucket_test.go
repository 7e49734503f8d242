package bucket_test

import (
	"sync"
	"testing"
	"time"

	"github.com/zelos-go/zelos/resilience/bucket"
)

// fakeClock is a manual clock for deterministic tests.
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

func allowN(b interface{ Allow() bool }, n int) int {
	got := 0
	for range n {
		if b.Allow() {
			got++
		}
	}
	return got
}

func TestBucketBurstThenRate(t *testing.T) {
	c := &fakeClock{}
	b := bucket.NewWithClock(100, time.Second, c.now)
	if got := allowN(b, 150); got != 100 {
		t.Fatalf("a full bucket allowed %d of 150, want 100", got)
	}
	c.advance(500 * time.Millisecond)
	if got := allowN(b, 100); got != 50 {
		t.Fatalf("after half an interval allowed %d, want 50", got)
	}
	c.advance(10 * time.Second)
	if got := allowN(b, 150); got != 100 {
		t.Fatalf("after a long idle allowed %d, want the burst of 100", got)
	}
}

func TestBucketReserveWait(t *testing.T) {
	c := &fakeClock{}
	b := bucket.NewWithClock(10, time.Second, c.now)
	allowN(b, 10)
	ok, wait := b.Reserve()
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("Reserve on an empty bucket = %v, %v; want false, 100ms", ok, wait)
	}
	c.advance(wait)
	if ok, _ := b.Reserve(); !ok {
		t.Fatal("no token after the announced wait")
	}
}

func TestBucketClockBackwards(t *testing.T) {
	c := &fakeClock{t: int64(time.Hour)}
	b := bucket.NewWithClock(2, time.Second, c.now)
	allowN(b, 2)
	c.advance(-time.Minute)
	if b.Tokens() != 0 {
		t.Fatalf("tokens after the clock stepped back = %v, want 0", b.Tokens())
	}
	c.advance(time.Minute + time.Second)
	if got := b.Tokens(); got != 2 {
		t.Fatalf("tokens = %v, want 2", got)
	}
}

func TestNewPanicsOnBadValues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		burst    int
		interval time.Duration
	}{
		{"zero burst", 0, time.Second},
		{"zero interval", 1, 0},
		{"negative interval", 1, -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			bucket.New(tc.burst, tc.interval)
		})
	}
}

func TestBucketConcurrent(t *testing.T) {
	c := &fakeClock{}
	b := bucket.NewWithClock(1000, time.Hour, c.now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := allowN(b, 500)
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 1000 {
		t.Fatalf("8 goroutines took %d tokens from a bucket of 1000", total)
	}
}

func TestKeyedSeparateBuckets(t *testing.T) {
	c := &fakeClock{}
	k := bucket.NewKeyed(2, time.Second, bucket.WithClock(c.now))
	for _, key := range []string{"a", "b"} {
		if !k.Allow(key) || !k.Allow(key) || k.Allow(key) {
			t.Fatalf("key %q: want 2 allowed then a rejection", key)
		}
	}
	c.advance(time.Second)
	if !k.Allow("a") {
		t.Fatal("key a not refilled after an interval")
	}
}

func TestKeyedDropsFullBuckets(t *testing.T) {
	c := &fakeClock{}
	k := bucket.NewKeyed(5, time.Second, bucket.WithClock(c.now))
	for i := range 1000 {
		k.Allow(string(rune('a' + i%26)))
	}
	if k.Len() != 26 {
		t.Fatalf("Len = %d, want 26", k.Len())
	}
	c.advance(2 * time.Second) // every bucket is full again
	k.Allow("new")
	if k.Len() != 1 {
		t.Fatalf("Len after the sweep = %d, want 1 (full buckets dropped)", k.Len())
	}
}

func TestKeyedCap(t *testing.T) {
	c := &fakeClock{}
	k := bucket.NewKeyed(1, time.Hour, bucket.WithClock(c.now), bucket.WithMaxKeys(10))
	for i := range 10_000 {
		k.Allow(string(rune(i)))
	}
	if k.Len() > 10 {
		t.Fatalf("Len = %d, want at most the cap of 10", k.Len())
	}
}

func BenchmarkBucketAllow(b *testing.B) {
	bk := bucket.New(1<<30, time.Second)
	b.ReportAllocs()
	for b.Loop() {
		bk.Allow()
	}
}

func BenchmarkKeyedAllow(b *testing.B) {
	k := bucket.NewKeyed(1<<30, time.Second)
	keys := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k.Allow(keys[i&3])
		i++
	}
}
