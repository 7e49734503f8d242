package breaker

// window counts calls and failures over a rolling time span, split into
// buckets so that old counts leave the window a bucket at a time instead
// of all at once (a tumbling window forgets a failure storm the instant it
// rolls over, and remembers a single failure for a whole span).
//
// It is not safe for concurrent use: the breakers hold their own lock.
type window struct {
	buckets []counts
	width   int64 // bucket width in clock nanoseconds
	cur     int   // index of the bucket that holds the time at last
	last    int64 // start time of buckets[cur]
	total   counts
}

// counts is the tally of one bucket, or of the whole window.
type counts struct {
	calls, failures int64
}

func newWindow(span int64, n int, now int64) *window {
	width := max(span/int64(n), 1)
	return &window{buckets: make([]counts, n), width: width, last: now - now%width}
}

// advance moves the window to now, emptying the buckets that fell out.
func (w *window) advance(now int64) {
	if now < w.last+w.width {
		return // same bucket, or a clock that stepped back
	}
	steps := (now - w.last) / w.width
	if steps >= int64(len(w.buckets)) {
		w.reset(now)
		return
	}
	for range steps {
		w.cur = (w.cur + 1) % len(w.buckets)
		w.total.calls -= w.buckets[w.cur].calls
		w.total.failures -= w.buckets[w.cur].failures
		w.buckets[w.cur] = counts{}
	}
	w.last += steps * w.width
}

func (w *window) reset(now int64) {
	clear(w.buckets)
	w.total = counts{}
	w.last = now - now%w.width
}

func (w *window) add(now int64, failed bool) {
	w.advance(now)
	w.buckets[w.cur].calls++
	w.total.calls++
	if failed {
		w.buckets[w.cur].failures++
		w.total.failures++
	}
}

// sum returns the counts within the window at now.
func (w *window) sum(now int64) counts {
	w.advance(now)
	return w.total
}
