package breaker

import (
	"math/rand/v2"

	"github.com/zelos-go/zelos/resilience/internal/window"
	"sync"
)

// SRE is the adaptive client-side throttle of Google's SRE book ("Handling
// Overload"). Over a rolling window it counts calls and successes, and
// rejects each new call with probability
//
//	max(0, (calls - K·successes) / (calls + 1))
//
// so it sheds just enough load to keep the successes flowing and needs no
// tuning of thresholds or timeouts. Only calls it let through are counted:
// its own rejections never enter the window, so once the backend heals the
// old failures roll out and it closes within one window.
type SRE struct {
	o options

	mu  sync.Mutex
	win *window.Window
	// open remembers whether the last decision could reject, to report
	// state changes.
	open bool
}

// NewSRE returns an SRE breaker.
func NewSRE(opts ...Option) *SRE {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	if o.rand == nil {
		o.rand = rand.Float64
	}
	return &SRE{o: o, win: window.New(int64(o.window), o.buckets, o.now())}
}

// Allow implements Breaker.
func (b *SRE) Allow() (Ticket, error) {
	now := b.o.now()
	b.mu.Lock()
	p := b.rejectProbability(now)
	change := b.track(p > 0)
	b.mu.Unlock()
	b.notify(change)
	if p > 0 && b.o.rand() < p {
		return Ticket{}, ErrOpen
	}
	return Ticket{}, nil
}

// Success implements Breaker.
func (b *SRE) Success(Ticket) { b.done(false) }

// Failure implements Breaker.
func (b *SRE) Failure(Ticket) { b.done(true) }

// State implements Breaker: Open while the breaker rejects some calls,
// Closed otherwise. The SRE breaker has no half-open state.
func (b *SRE) State() State {
	b.mu.Lock()
	p := b.rejectProbability(b.o.now())
	b.mu.Unlock()
	if p > 0 {
		return Open
	}
	return Closed
}

// RejectProbability returns the share of calls the breaker rejects now.
func (b *SRE) RejectProbability() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rejectProbability(b.o.now())
}

func (b *SRE) done(failed bool) {
	now := b.o.now()
	b.mu.Lock()
	b.win.Add(now, 1, b2i(failed))
	b.mu.Unlock()
}

// rejectProbability runs with b.mu held.
func (b *SRE) rejectProbability(now int64) float64 {
	c := b.win.Sum(now)
	if c.A < b.o.minRequests {
		return 0
	}
	accepts := float64(c.A - c.B)
	return max(0, (float64(c.A)-b.o.k*accepts)/float64(c.A+1))
}

// track records whether the breaker now rejects, with b.mu held, and
// returns the change to notify, if any.
func (b *SRE) track(open bool) *[2]State {
	if open == b.open {
		return nil
	}
	b.open = open
	if open {
		return &[2]State{Closed, Open}
	}
	return &[2]State{Open, Closed}
}

func (b *SRE) notify(change *[2]State) {
	if change != nil && b.o.onStateChange != nil {
		b.o.onStateChange(change[0], change[1])
	}
}
