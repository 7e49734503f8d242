// Package bucket implements the token bucket: a rate limiter that allows
// bursts up to a size and a steady rate after that.
//
//	b := bucket.New(100, time.Second) // 100 at once, then 100 per second
//	if !b.Allow() {
//		// reject: over the rate
//	}
//
// A bucket holds at most Burst tokens and refills Burst tokens per
// Interval, continuously. Each allowed event takes one token. Keyed keeps
// one bucket per key (client IP, user, operation) in bounded memory.
//
// The package imports no transport: middleware/ratelimit adapts it to the
// Zelos middleware chain.
package bucket

import (
	"math"
	"sync"
	"time"

	"github.com/zelos-go/zelos/resilience/internal/mono"
)

// Clock returns the current time in nanoseconds on a monotonic scale. Tests
// pass a fake one; the default reads the monotonic clock.
type Clock func() int64

// Bucket is a token bucket. Its methods are safe for concurrent use, and
// Allow does not allocate.
type Bucket struct {
	burst float64
	// perToken is the refill time of one token, in nanoseconds.
	perToken float64
	now      Clock

	mu     sync.Mutex
	tokens float64
	last   int64 // clock reading of the last refill
}

// New returns a full bucket of burst tokens that refills burst tokens per
// interval, on the monotonic clock. It panics if burst < 1 or interval <= 0:
// both are programming errors, found at start-up.
func New(burst int, interval time.Duration) *Bucket {
	return NewWithClock(burst, interval, mono.Now)
}

// NewWithClock is New on the given clock.
func NewWithClock(burst int, interval time.Duration, now Clock) *Bucket {
	if burst < 1 || interval <= 0 {
		panic("resilience/bucket: burst must be >= 1 and interval > 0")
	}
	return &Bucket{
		burst:    float64(burst),
		perToken: float64(interval) / float64(burst),
		now:      now,
		tokens:   float64(burst),
		last:     now(),
	}
}

// Allow takes one token and reports whether there was one.
func (b *Bucket) Allow() bool {
	ok, _ := b.Reserve()
	return ok
}

// Reserve takes one token if there is one. When there is none it reports
// false and how long until one is refilled, for a Retry-After reply.
func (b *Bucket) Reserve() (ok bool, wait time.Duration) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) * b.perToken))
}

// Tokens returns the tokens available now.
func (b *Bucket) Tokens() float64 {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	return b.tokens
}

// refill adds the tokens earned since the last refill. A clock that steps
// back earns nothing rather than taking tokens away.
func (b *Bucket) refill(now int64) {
	if elapsed := now - b.last; elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+float64(elapsed)/b.perToken)
		b.last = now
	}
}

// full reports whether the bucket is full at now: a full bucket behaves
// exactly like a new one, so Keyed may drop it without changing any answer.
func (b *Bucket) full(now int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	return b.tokens >= b.burst
}
