// Package budget bounds retries: over a rolling window, retries may not
// exceed a share of the requests plus a small floor per second. It is the
// retry budget of Finagle and, in spirit, gRPC's retry throttling: when a
// backend fails every call, a client with a 10% budget sends 1.1 calls per
// request instead of its attempt count, so retries cannot multiply an
// outage across hops.
//
//	b := budget.New() // 10% of requests, plus 1 per second
//	b.Request()       // once per logical request
//	if b.Retry() {    // before each retry
//		// retry
//	}
//
// The package imports no transport: middleware/retry uses it.
package budget

import (
	"sync"
	"time"

	"github.com/zelos-go/zelos/resilience/internal/mono"
	"github.com/zelos-go/zelos/resilience/internal/window"
)

// Clock returns the current time in nanoseconds on a monotonic scale.
type Clock func() int64

// Budget is a retry budget. Its methods are safe for concurrent use and do
// not allocate.
type Budget struct {
	ratio float64
	floor float64 // retries allowed per window whatever the requests
	now   Clock

	mu  sync.Mutex
	win *window.Window // A: requests, B: retries
}

// Option configures a Budget.
type Option func(*config)

type config struct {
	ratio  float64
	perSec float64
	ttl    time.Duration
	now    Clock
}

// WithRatio sets the share of requests that may be retried. The default is
// 0.1; 0 allows only the floor.
func WithRatio(r float64) Option {
	return func(c *config) {
		if r >= 0 {
			c.ratio = r
		}
	}
}

// WithMinPerSecond sets the floor: retries allowed per second even with few
// requests, so a quiet client can still retry. The default is 1.
func WithMinPerSecond(n float64) Option {
	return func(c *config) {
		if n >= 0 {
			c.perSec = n
		}
	}
}

// WithTTL sets how long a request counts towards the budget. The default
// is 10s.
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.ttl = d
		}
	}
}

// WithClock sets the clock. The default is the monotonic clock.
func WithClock(now Clock) Option {
	return func(c *config) { c.now = now }
}

// New returns a Budget.
func New(opts ...Option) *Budget {
	c := config{ratio: 0.1, perSec: 1, ttl: 10 * time.Second, now: mono.Now}
	for _, o := range opts {
		o(&c)
	}
	return &Budget{
		ratio: c.ratio,
		floor: c.perSec * c.ttl.Seconds(),
		now:   c.now,
		win:   window.New(int64(c.ttl), 10, c.now()),
	}
}

// Request records one logical request: its first attempt deposits into the
// budget.
func (b *Budget) Request() {
	now := b.now()
	b.mu.Lock()
	b.win.Add(now, 1, 0)
	b.mu.Unlock()
}

// Retry reports whether one more retry fits in the budget, and if so
// withdraws it.
func (b *Budget) Retry() bool {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.win.Sum(now)
	if float64(c.B+1) > b.ratio*float64(c.A)+b.floor {
		return false
	}
	b.win.Add(now, 0, 1)
	return true
}
