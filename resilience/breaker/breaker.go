// Package breaker implements circuit breakers: a failure-ratio breaker with
// closed, open and half-open states, and the adaptive client-side throttle
// of Google's SRE book. Both stop calls to a backend that is failing, so it
// gets room to recover and callers fail fast instead of queueing.
//
//	b := breaker.NewRatio(0.6, breaker.WithTimeout(5*time.Second))
//	t, err := b.Allow()
//	if err != nil {
//		return err // breaker.ErrOpen: the call was not made
//	}
//	if err := call(); isBackendFailure(err) {
//		b.Failure(t)
//	} else {
//		b.Success(t)
//	}
//
// What counts as a failure is the caller's choice: middleware/circuitbreaker
// counts backend failures only (5xx, deadline exceeded, connection errors).
// A call the breaker rejected is never reported back, so a breaker cannot
// count its own rejections and stay open on them.
//
// The package imports no transport; the clock is injectable so tests are
// deterministic.
package breaker

import (
	"errors"
	"time"

	"github.com/zelos-go/zelos/resilience/internal/mono"
)

// ErrOpen is returned by Allow when the breaker rejects a call.
var ErrOpen = errors.New("resilience/breaker: circuit open")

// State is a breaker's state.
type State int32

const (
	// Closed lets every call through and counts outcomes.
	Closed State = iota
	// Open rejects calls.
	Open
	// HalfOpen lets a few probe calls through to learn whether the backend
	// recovered.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Ticket is handed out by Allow and handed back with the call's outcome. It
// ties an outcome to the state the call was allowed in, so that a slow call
// started before the breaker opened cannot close it again.
type Ticket struct {
	generation uint64
}

// Breaker is what both breakers do. middleware/circuitbreaker consumes it,
// so a user's own breaker fits there too.
type Breaker interface {
	// Allow reports whether a call may proceed: nil and a Ticket to report
	// its outcome with, or ErrOpen.
	Allow() (Ticket, error)
	// Success reports that the call of t succeeded.
	Success(t Ticket)
	// Failure reports that the call of t failed.
	Failure(t Ticket)
	// State returns the current state.
	State() State
}

// Clock returns the current time in nanoseconds on a monotonic scale.
type Clock func() int64

// Option configures a breaker. Options that do not apply to a breaker are
// ignored by it, as each option's doc says.
type Option func(*options)

type options struct {
	window        time.Duration
	buckets       int
	minRequests   int64
	timeout       time.Duration
	maxRequests   int64
	k             float64
	now           Clock
	rand          func() float64
	onStateChange func(from, to State)
}

func defaults() options {
	return options{
		window:      10 * time.Second,
		buckets:     10,
		minRequests: 20,
		timeout:     5 * time.Second,
		maxRequests: 1,
		k:           1.5,
		now:         mono.Now,
	}
}

// WithWindow sets the span over which outcomes are counted, as a rolling
// window. The default is 10s.
func WithWindow(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.window = d
		}
	}
}

// WithBuckets sets how many buckets the window is split into; outcomes leave
// the window one bucket at a time. The default is 10.
func WithBuckets(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.buckets = n
		}
	}
}

// WithMinRequests sets how many calls the window must hold before the
// breaker may trip (or throttle). The default is 20.
func WithMinRequests(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.minRequests = int64(n)
		}
	}
}

// WithTimeout sets how long the ratio breaker stays open before it goes
// half-open. The default is 5s. The SRE breaker ignores it.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithMaxRequests sets how many probe calls the ratio breaker lets through
// while half-open; that many successes in a row close it, and one failure
// opens it again. The default is 1. The SRE breaker ignores it.
func WithMaxRequests(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxRequests = int64(n)
		}
	}
}

// WithK sets the SRE breaker's multiplier K: it throttles once calls exceed
// K times the successes. Lower is more aggressive; the default is 1.5, so it
// starts to reject when fewer than 2 in 3 calls succeed. The ratio breaker
// ignores it.
func WithK(k float64) Option {
	return func(o *options) {
		if k >= 1 {
			o.k = k
		}
	}
}

// WithClock sets the clock. The default is the monotonic clock.
func WithClock(now Clock) Option {
	return func(o *options) { o.now = now }
}

// WithRand sets the source of uniform numbers in [0, 1) the SRE breaker
// draws its rejections from. The default is math/rand/v2's Float64.
func WithRand(f func() float64) Option {
	return func(o *options) { o.rand = f }
}

// WithStateChange sets a function called on every state change, outside the
// breaker's lock, for metrics and logs. It must not block.
func WithStateChange(f func(from, to State)) Option {
	return func(o *options) { o.onStateChange = f }
}

// b2i counts a failure: the windows hold calls in A and failures in B.
func b2i(failed bool) int64 {
	if failed {
		return 1
	}
	return 0
}
