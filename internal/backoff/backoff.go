// Package backoff computes the delays between the attempts of a retried
// operation: registry reconnects and re-watches, and the retry middleware.
//
//	p := backoff.Policy{Kind: backoff.Exponential, Base: 100 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2}
//	b := p.Start()
//	for ctx.Err() == nil {
//		if err := try(ctx); err == nil {
//			b.Reset()
//			continue
//		}
//		if err := backoff.Sleep(ctx, nil, b.Next()); err != nil {
//			return err
//		}
//	}
//
// The algorithm imports no transport and takes its randomness and its clock
// from the caller, so that tests are deterministic. Computing a delay does
// not allocate: the retry middleware calls it on every retried request.
package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Kind is how the delay grows with the attempt number.
type Kind uint8

const (
	// Exponential doubles the delay (see Policy.Multiplier) after every
	// attempt: Base, 2*Base, 4*Base, ... It is the zero Kind, because
	// reconnect loops must back off from a server that is down.
	Exponential Kind = iota
	// Linear adds Base after every attempt: Base, 2*Base, 3*Base, ...
	Linear
	// Constant waits Base before every attempt.
	Constant
)

// String returns the name of k: "exponential", "linear" or "constant".
func (k Kind) String() string {
	switch k {
	case Exponential:
		return "exponential"
	case Linear:
		return "linear"
	case Constant:
		return "constant"
	}
	return "unknown"
}

// Policy describes a sequence of delays. The zero Policy waits nothing; set
// at least Base. A Policy is a value: copy it freely, and share it between
// goroutines as long as its Rand is safe for concurrent use (the default
// is).
type Policy struct {
	// Kind is how the delay grows. The default is Exponential.
	Kind Kind
	// Base is the delay before the first retry, and the step of Linear.
	Base time.Duration
	// Max bounds every delay, jitter included. Zero, the default, means no
	// bound other than the largest time.Duration.
	Max time.Duration
	// Multiplier is the growth factor of Exponential. Zero, the default,
	// means 2; values below 1 are taken as 1.
	Multiplier float64
	// Jitter spreads each delay uniformly over ±Jitter of itself: 0.2 gives
	// a delay of 80% to 120% of the computed one. It keeps many clients that
	// failed at the same moment (a registry restart) from retrying in step.
	// Zero, the default, means none; values are clamped to [0, 1].
	Jitter float64
	// Rand returns a number in [0, 1) for the jitter. Nil, the default,
	// means math/rand/v2's Float64. Tests set a constant.
	Rand func() float64
}

// Delay returns the delay before retry number attempt, counted from 0 (the
// delay after the first failure). It does not allocate.
func (p Policy) Delay(attempt int) time.Duration {
	if p.Base <= 0 {
		return 0
	}
	attempt = max(attempt, 0)
	limit := time.Duration(math.MaxInt64)
	if p.Max > 0 {
		limit = p.Max
	}
	// Computed in float64 so that a large attempt number saturates at the
	// limit instead of overflowing.
	d := float64(p.Base)
	switch p.Kind {
	case Linear:
		d *= float64(attempt) + 1
	case Constant:
	default:
		m := p.Multiplier
		if m == 0 {
			m = 2
		}
		d *= math.Pow(max(m, 1), float64(attempt))
	}
	d = min(d, float64(limit))
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		r := rand.Float64
		if p.Rand != nil {
			r = p.Rand
		}
		d *= 1 + j*(2*r()-1)
		// Above the limit the draw is mirrored below it rather than clamped:
		// clamping would put half of all clients that reached the limit on
		// exactly the same delay, which is what jitter is for avoiding.
		if d > float64(limit) {
			d = 2*float64(limit) - d
		}
	}
	if d >= float64(limit) {
		return limit
	}
	// Rounded, so that float error does not turn 90ms into 89.999999ms.
	return time.Duration(math.Round(d))
}

// Reconnect returns the policy of every loop in Zelos that reconnects to a
// registry or watches it again: exponential from 100ms to 5s with ±20%
// jitter. One policy, so that all of them behave alike during an outage;
// a loop that must differ sets its own Max and says why.
func Reconnect() Policy {
	return Policy{Kind: Exponential, Base: 100 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2}
}

// Start returns a Backoff that walks p's delays from the first.
func (p Policy) Start() Backoff { return Backoff{policy: p} }

// Backoff is the state of one retry loop: the number of failed attempts
// so far. It is not safe for concurrent use; each loop has its own.
type Backoff struct {
	policy  Policy
	attempt int
}

// Next returns the delay before the next attempt and counts one more
// failure. It does not allocate.
func (b *Backoff) Next() time.Duration {
	d := b.policy.Delay(b.attempt)
	if b.attempt < math.MaxInt32 {
		b.attempt++
	}
	return d
}

// Attempt returns how many delays Next has returned since the last Reset.
func (b *Backoff) Attempt() int { return b.attempt }

// Reset starts over from the first delay, after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Clock is the time source of Sleep. Tests give a fake one that returns at
// once and records the delays.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done and then returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// Sleep waits d on clock, or until ctx is done and then returns ctx's
// error. A nil clock is the real one (SystemClock).
func Sleep(ctx context.Context, clock Clock, d time.Duration) error {
	if clock == nil {
		clock = SystemClock{}
	}
	return clock.Sleep(ctx, d)
}

// SystemClock is the Clock of the time package.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d on a timer, which it stops if ctx is done first so that
// no timer outlives the call.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
