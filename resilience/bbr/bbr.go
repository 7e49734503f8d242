// Package bbr implements an adaptive concurrency limiter in the manner of
// TCP BBR: it estimates what the service can carry as the most requests it
// completed per time slice times the least latency it showed, and when the
// CPU is hot it rejects requests beyond that many in flight. Below the CPU
// threshold it sheds nothing, so a slow dependency on an idle machine does
// not turn into rejections.
//
//	l := bbr.New() // container-aware CPU, 80% threshold
//	t, err := l.Allow()
//	if err != nil {
//		return err // bbr.ErrLimitExceeded: shed
//	}
//	defer l.Done(t)
//
// The package imports no transport: middleware/ratelimit adapts it. The CPU
// source and the clock are injectable, so tests are deterministic.
package bbr

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/resilience/internal/mono"
	"github.com/zelos-go/zelos/resilience/internal/window"
)

// ErrLimitExceeded is returned by Allow when the limiter sheds a request.
var ErrLimitExceeded = errors.New("resilience/bbr: concurrency limit exceeded")

// Clock returns the current time in nanoseconds on a monotonic scale.
type Clock func() int64

// Ticket is handed out by Allow and back to Done.
type Ticket struct {
	start int64
}

// Limiter is the adaptive limiter. Its methods are safe for concurrent use
// and Allow and Done do not allocate.
type Limiter struct {
	cpu       CPU
	threshold float64
	cooldown  int64
	now       Clock
	perSecond float64 // buckets per second

	inFlight atomic.Int64
	lastDrop atomic.Int64 // clock reading of the last shed, 0 for never

	mu  sync.Mutex
	win *window.Window // A: requests completed, B: their summed latency
}

// Option configures a Limiter.
type Option func(*config)

type config struct {
	window    time.Duration
	buckets   int
	threshold float64
	cooldown  time.Duration
	cpu       CPU
	now       Clock
}

// WithWindow sets the span the capacity estimate looks back over. The
// default is 10s.
func WithWindow(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.window = d
		}
	}
}

// WithBuckets sets how many time slices the window is split into; the
// capacity is the best slice's completions times the best slice's latency.
// The default is 100.
func WithBuckets(n int) Option {
	return func(c *config) {
		if n > 1 {
			c.buckets = n
		}
	}
}

// WithCPUThreshold sets the CPU usage, from 0 to 1, above which the limiter
// sheds. The default is 0.8.
func WithCPUThreshold(t float64) Option {
	return func(c *config) {
		if t > 0 && t <= 1 {
			c.threshold = t
		}
	}
}

// WithCooldown sets how long the limiter keeps shedding after the CPU falls
// back below the threshold, to avoid flapping. The default is 1s.
func WithCooldown(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.cooldown = d
		}
	}
}

// WithCPU sets the CPU source. The default is NewCPU's meter, or, where no
// CPU accounting is readable, a source that always reports 1, so the limiter
// sheds on latency alone rather than never.
func WithCPU(cpu CPU) Option {
	return func(c *config) { c.cpu = cpu }
}

// WithClock sets the clock. The default is the monotonic clock.
func WithClock(now Clock) Option {
	return func(c *config) { c.now = now }
}

// New returns a Limiter.
func New(opts ...Option) *Limiter {
	c := config{window: 10 * time.Second, buckets: 100, threshold: 0.8, cooldown: time.Second, now: mono.Now}
	for _, o := range opts {
		o(&c)
	}
	if c.cpu == nil {
		if m, err := NewCPU(); err == nil {
			c.cpu = m
		} else {
			c.cpu = CPUFunc(func() float64 { return 1 })
		}
	}
	return &Limiter{
		cpu:       c.cpu,
		threshold: c.threshold,
		cooldown:  int64(c.cooldown),
		now:       c.now,
		perSecond: float64(c.buckets) / c.window.Seconds(),
		win:       window.New(int64(c.window), c.buckets, c.now()),
	}
}

// Allow admits a request, which must then be passed to Done, or sheds it
// with ErrLimitExceeded.
func (l *Limiter) Allow() (Ticket, error) {
	now := l.now()
	if l.shouldDrop(now) {
		l.lastDrop.Store(now)
		return Ticket{}, ErrLimitExceeded
	}
	l.inFlight.Add(1)
	return Ticket{start: now}, nil
}

// Done reports that the request of t finished.
func (l *Limiter) Done(t Ticket) {
	now := l.now()
	l.inFlight.Add(-1)
	l.mu.Lock()
	l.win.Add(now, 1, max(now-t.start, 0))
	l.mu.Unlock()
}

// InFlight returns the requests admitted and not yet done.
func (l *Limiter) InFlight() int64 { return l.inFlight.Load() }

// MaxInFlight returns the current capacity estimate: the most completions
// of a time slice, per second, times the least mean latency of a slice.
// It is MaxInt64 until a slice completed something, so a cold limiter
// admits everything.
func (l *Limiter) MaxInFlight() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxInFlight(l.now())
}

func (l *Limiter) maxInFlight(now int64) int64 {
	var maxPass int64
	minRT := int64(math.MaxInt64)
	l.win.Range(now, func(c window.Counts) {
		if c.A == 0 {
			return
		}
		maxPass = max(maxPass, c.A)
		minRT = min(minRT, c.B/c.A)
	})
	if maxPass == 0 {
		return math.MaxInt64
	}
	// completions per second × seconds of latency = requests in flight.
	return int64(math.Ceil(float64(maxPass) * l.perSecond * float64(max(minRT, 1)) / 1e9))
}

func (l *Limiter) shouldDrop(now int64) bool {
	if l.cpu.Usage() < l.threshold {
		last := l.lastDrop.Load()
		if last == 0 || now-last > l.cooldown {
			return false
		}
	}
	inFlight := l.inFlight.Load()
	if inFlight < 1 {
		return false
	}
	l.mu.Lock()
	limit := l.maxInFlight(now)
	l.mu.Unlock()
	return inFlight >= limit
}
