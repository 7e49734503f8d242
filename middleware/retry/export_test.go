package retry

import "github.com/zelos-go/zelos/internal/backoff"

// WithClock sets the clock of the delays and deadline checks, for tests.
func WithClock(c backoff.Clock) Option { return func(o *options) { o.clock = c } }

// WithRand sets the jitter's randomness, for tests.
func WithRand(r func() float64) Option { return func(o *options) { o.policy.Rand = r } }
