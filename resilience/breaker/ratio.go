package breaker

import (
	"sync"

	"github.com/zelos-go/zelos/resilience/internal/window"
)

// Ratio is a failure-ratio breaker. Closed, it counts outcomes over a
// rolling window and opens when the window holds at least MinRequests calls
// and the failed share reaches the ratio. Open, it rejects every call for
// Timeout, then goes half-open and lets MaxRequests probes through: that many
// successes close it, one failure opens it again.
type Ratio struct {
	ratio float64
	o     options

	mu         sync.Mutex
	state      State
	generation uint64 // bumped on every state change
	openedAt   int64
	probes     int64 // probes let through while half-open
	successes  int64 // probe successes while half-open
	win        *window.Window
}

// NewRatio returns a closed Ratio breaker that opens at the failure ratio
// (0 < ratio <= 1). It panics on a ratio outside that range.
func NewRatio(ratio float64, opts ...Option) *Ratio {
	if !(ratio > 0 && ratio <= 1) {
		panic("resilience/breaker: failure ratio must be in (0, 1]")
	}
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	return &Ratio{ratio: ratio, o: o, win: window.New(int64(o.window), o.buckets, o.now())}
}

// Allow implements Breaker.
func (b *Ratio) Allow() (Ticket, error) {
	now := b.o.now()
	b.mu.Lock()
	change := b.expire(now)
	t, err := Ticket{b.generation}, error(nil)
	switch b.state {
	case Open:
		err = ErrOpen
	case HalfOpen:
		if b.probes >= b.o.maxRequests {
			err = ErrOpen
		} else {
			b.probes++
		}
	}
	b.mu.Unlock()
	b.notify(change)
	return t, err
}

// Success implements Breaker.
func (b *Ratio) Success(t Ticket) { b.done(t, false) }

// Failure implements Breaker.
func (b *Ratio) Failure(t Ticket) { b.done(t, true) }

// State implements Breaker.
func (b *Ratio) State() State {
	b.mu.Lock()
	change := b.expire(b.o.now())
	s := b.state
	b.mu.Unlock()
	b.notify(change)
	return s
}

func (b *Ratio) done(t Ticket, failed bool) {
	now := b.o.now()
	b.mu.Lock()
	var change [2]State
	changed := false
	// An outcome from an older generation describes a backend state the
	// breaker has already acted on: drop it.
	if t.generation == b.generation {
		switch b.state {
		case Closed:
			b.win.Add(now, 1, b2i(failed))
			c := b.win.Sum(now)
			if c.A >= b.o.minRequests && float64(c.B) >= b.ratio*float64(c.A) {
				change, changed = b.set(Open, now), true
			}
		case HalfOpen:
			if failed {
				change, changed = b.set(Open, now), true
			} else if b.successes++; b.successes >= b.o.maxRequests {
				change, changed = b.set(Closed, now), true
			}
		}
	}
	b.mu.Unlock()
	if changed {
		b.notify(&change)
	}
}

// expire moves an open breaker whose timeout passed to half-open. It runs
// with b.mu held and returns the change to notify, if any.
func (b *Ratio) expire(now int64) *[2]State {
	if b.state == Open && now-b.openedAt >= int64(b.o.timeout) {
		c := b.set(HalfOpen, now)
		return &c
	}
	return nil
}

// set moves to state s, with b.mu held, and returns the change.
func (b *Ratio) set(s State, now int64) [2]State {
	from := b.state
	b.state = s
	b.generation++
	b.probes, b.successes = 0, 0
	switch s {
	case Open:
		b.openedAt = now
	case Closed:
		b.win.Reset(now)
	}
	return [2]State{from, s}
}

func (b *Ratio) notify(change *[2]State) {
	if change != nil && b.o.onStateChange != nil {
		b.o.onStateChange(change[0], change[1])
	}
}
