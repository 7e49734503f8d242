// Package window keeps two counters over a rolling time span, for the
// breakers, the retry budget and the adaptive limiter of resilience/...
//
// The span is split into buckets so that old counts leave the window a
// bucket at a time instead of all at once: a tumbling window forgets a
// failure storm the instant it rolls over, and remembers a single failure
// for a whole span.
//
// A Window is not safe for concurrent use; its owners hold their own lock,
// which they need anyway to act on what it says.
package window

// Counts is the tally of one bucket, or of the whole window. What A and B
// mean is the owner's: calls and failures for a breaker, passes and summed
// latency for the limiter.
type Counts struct {
	A, B int64
}

// Window is a rolling window of Counts.
type Window struct {
	buckets []Counts
	width   int64 // bucket width in clock nanoseconds
	cur     int   // index of the bucket holding the latest time seen
	last    int64 // start time of buckets[cur]
	total   Counts
}

// New returns an empty window spanning span nanoseconds in n buckets,
// starting at now.
func New(span int64, n int, now int64) *Window {
	n = max(n, 1)
	width := max(span/int64(n), 1)
	return &Window{buckets: make([]Counts, n), width: width, last: now - now%width}
}

// Width returns the width of one bucket in nanoseconds.
func (w *Window) Width() int64 { return w.width }

// advance moves the window to now, emptying the buckets that fell out.
func (w *Window) advance(now int64) {
	if now < w.last+w.width {
		return // same bucket, or a clock that stepped back
	}
	steps := (now - w.last) / w.width
	if steps >= int64(len(w.buckets)) {
		w.Reset(now)
		return
	}
	for range steps {
		w.cur = (w.cur + 1) % len(w.buckets)
		w.total.A -= w.buckets[w.cur].A
		w.total.B -= w.buckets[w.cur].B
		w.buckets[w.cur] = Counts{}
	}
	w.last += steps * w.width
}

// Reset empties the window at now.
func (w *Window) Reset(now int64) {
	clear(w.buckets)
	w.total = Counts{}
	w.last = now - now%w.width
}

// Add adds a and b to the bucket of now.
func (w *Window) Add(now, a, b int64) {
	w.advance(now)
	w.buckets[w.cur].A += a
	w.buckets[w.cur].B += b
	w.total.A += a
	w.total.B += b
}

// Sum returns the counts within the window at now.
func (w *Window) Sum(now int64) Counts {
	w.advance(now)
	return w.total
}

// Range calls f with every bucket in the window at now except the current
// one, which is still filling: a limiter that reads its partial counts
// would underestimate what a full bucket holds.
func (w *Window) Range(now int64, f func(Counts)) {
	w.advance(now)
	for i := 1; i < len(w.buckets); i++ {
		f(w.buckets[(w.cur+i)%len(w.buckets)])
	}
}
