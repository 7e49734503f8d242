package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/resilience/bucket"
)

// LimiterOption configures NewMemoryLimiter.
type LimiterOption func(*memoryConfig)

type memoryConfig struct {
	interval time.Duration
	burst    int
	key      func(context.Context) string
	maxKeys  int
	clock    bucket.Clock
}

// WithInterval sets the interval in which the bucket refills Burst tokens.
// The default is 1s.
func WithInterval(d time.Duration) LimiterOption {
	return func(c *memoryConfig) {
		if d > 0 {
			c.interval = d
		}
	}
}

// WithBurst sets the bucket's size: requests allowed at once, and refilled
// per Interval. The default is 100.
func WithBurst(n int) LimiterOption {
	return func(c *memoryConfig) {
		if n > 0 {
			c.burst = n
		}
	}
}

// WithKey gives each key its own bucket, such as the client IP, the JWT
// subject or the operation (see KeyOperation). Memory stays bounded: idle
// buckets are dropped and at most WithMaxKeys are kept. The default is one
// bucket for all requests.
func WithKey(f func(ctx context.Context) string) LimiterOption {
	return func(c *memoryConfig) { c.key = f }
}

// WithMaxKeys caps the buckets WithKey keeps. The default is
// bucket.DefaultMaxKeys.
func WithMaxKeys(n int) LimiterOption {
	return func(c *memoryConfig) { c.maxKeys = n }
}

// WithClock sets the buckets' clock, for tests. The default is the
// monotonic clock.
func WithClock(now func() int64) LimiterOption {
	return func(c *memoryConfig) { c.clock = now }
}

// MemoryLimiter is the in-process token bucket limiter, global or per key.
type MemoryLimiter struct {
	one   *bucket.Bucket
	keyed *bucket.Keyed
	key   func(context.Context) string
}

// NewMemoryLimiter returns a token bucket limiter: it allows Burst requests
// at once and Burst per Interval after that.
func NewMemoryLimiter(opts ...LimiterOption) *MemoryLimiter {
	c := memoryConfig{interval: time.Second, burst: 100, maxKeys: bucket.DefaultMaxKeys}
	for _, o := range opts {
		o(&c)
	}
	if c.key != nil {
		ko := []bucket.KeyedOption{bucket.WithMaxKeys(c.maxKeys)}
		if c.clock != nil {
			ko = append(ko, bucket.WithClock(c.clock))
		}
		return &MemoryLimiter{keyed: bucket.NewKeyed(c.burst, c.interval, ko...), key: c.key}
	}
	if c.clock != nil {
		return &MemoryLimiter{one: bucket.NewWithClock(c.burst, c.interval, c.clock)}
	}
	return &MemoryLimiter{one: bucket.New(c.burst, c.interval)}
}

// Allow implements Limiter.
func (m *MemoryLimiter) Allow(ctx context.Context) (DoneFunc, error) {
	var ok bool
	var wait time.Duration
	if m.keyed != nil {
		ok, wait = m.keyed.Reserve(m.key(ctx))
	} else {
		ok, wait = m.one.Reserve()
	}
	if ok {
		return nop, nil
	}
	return nil, &RetryAfterError{Wait: wait}
}

func nop() {}

// RetryAfterError is a rejection that knows when a token will be back.
type RetryAfterError struct {
	// Wait is the time until the next token.
	Wait time.Duration
}

// Error implements error.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("middleware/ratelimit: rate limit exceeded, retry after %v", e.Wait)
}

// RetryAfter returns Wait, for the Retry-After header.
func (e *RetryAfterError) RetryAfter() time.Duration { return e.Wait }

// As lets errors.As find the Zelos error a rejection becomes: 429 RATELIMIT
// with the wait in the metadata.
func (e *RetryAfterError) As(target any) bool {
	p, ok := target.(**errors.Error)
	if !ok {
		return false
	}
	*p = ErrLimitExceeded.WithMetadata(map[string]string{"retry_after": e.Wait.Round(time.Millisecond).String()}).WithCause(e)
	return true
}
