// Package deadline gives a request context a deadline without the cost of
// context.WithTimeout, and encodes remaining times for the wire.
//
//	c := deadline.New(r.Context(), time.Now().Add(d))
//	defer c.Release()
//	serve(c)
//
// context.WithTimeout costs 4 to 6 allocations per request (the context,
// its timer, the parent's children map, the Done channel). Most requests
// never look at Done: they finish in time, and only ask Deadline (to send
// it on) or Err. A Context answers those from its fields, and makes its
// channel and timer only when Done is first called, so a server timeout
// costs one allocation, or none when the Context is embedded in a struct
// the server allocates anyway.
//
// Once Done is called, a Context costs one allocation more than
// context.WithTimeout (6 against 5: it makes one then). So it suits server requests, most of which never
// wait on Done, and not client calls: grpc-go and net/http always do.
package deadline

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Context is a context.Context that is done at a deadline or when its
// parent is. Init it (or use New) before use; Release it when the request
// is done. Its methods are safe for concurrent use.
//
// One difference from context.WithDeadline: context.Cause reports the
// parent's cause (nil if the parent is not done) rather than
// context.DeadlineExceeded, because Context cannot answer the standard
// library's private cancelCtx key.
type Context struct {
	parent   context.Context
	deadline time.Time

	mu     sync.Mutex
	err    error           // latched by Err before Done was called
	inner  context.Context // context.WithDeadline(parent, deadline), made by Done
	cancel context.CancelFunc
}

// New returns a Context over parent with deadline dl.
func New(parent context.Context, dl time.Time) *Context {
	c := new(Context)
	c.Init(parent, dl)
	return c
}

// Init makes c a Context over parent with deadline dl, for a Context
// embedded in a larger struct.
func (c *Context) Init(parent context.Context, dl time.Time) {
	c.parent, c.deadline = parent, dl
}

// Deadline implements context.Context.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, true }

// Value implements context.Context.
func (c *Context) Value(key any) any { return c.parent.Value(key) }

// Err implements context.Context. Until Done is called it is worked out
// from the clock and the parent; after, it is the channel's, as the
// context package requires.
func (c *Context) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		return c.inner.Err()
	}
	if c.err == nil {
		if err := c.parent.Err(); err != nil {
			c.err = err
		} else if !time.Now().Before(c.deadline) {
			c.err = context.DeadlineExceeded
		}
	}
	return c.err
}

// Done implements context.Context. The first call makes the timer and
// channel: a context.WithDeadline, which is done at once if Err already
// reported c done (the deadline passed, or the parent is done), so that
// the two agree.
func (c *Context) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arm().Done()
}

// arm returns the inner context, making it first. c.mu is held.
func (c *Context) arm() context.Context {
	if c.inner == nil {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.err == context.Canceled {
			c.cancel() // released before Done was called
		}
	}
	return c.inner
}

// AfterFunc runs f in its own goroutine once c is done, and returns a
// function that stops that, reporting whether it did. The context package
// uses it for the contexts derived from c, which would otherwise each
// start a goroutine to watch c's channel.
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	inner := c.arm()
	c.mu.Unlock()
	return context.AfterFunc(inner, f)
}

// Release cancels c, as the CancelFunc of context.WithDeadline does, and
// stops its timer if Done made one. Call it when the request is done.
func (c *Context) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	} else if c.err == nil {
		c.err = context.Canceled
	}
}

// String describes c.
func (c *Context) String() string {
	return "deadline.Context(" + c.deadline.String() + ")"
}

// Format encodes d as grpc-timeout does: at most 8 digits and a unit
// (H, M, S, m, u, n). It rounds down, so that the receiver never gets more
// time than the sender had; the time the request spends in transit is not
// known to either, and is not subtracted (as with grpc-timeout). A d of
// zero or less gives "0n".
func Format(d time.Duration) string {
	if d <= 0 {
		return "0n"
	}
	const max = 100000000 // 8 digits
	units := [...]struct {
		unit byte
		d    time.Duration
	}{{'n', time.Nanosecond}, {'u', time.Microsecond}, {'m', time.Millisecond}, {'S', time.Second}, {'M', time.Minute}, {'H', time.Hour}}
	for _, u := range units {
		if n := d / u.d; n < max {
			return strconv.FormatInt(int64(n), 10) + string(u.unit)
		}
	}
	return "99999999H"
}

// Parse decodes a Format value (the grpc-timeout format). It reports false
// for anything else, such as more than 8 digits or an unknown unit.
func Parse(s string) (time.Duration, bool) {
	if len(s) < 2 || len(s) > 9 {
		return 0, false
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	var n int64
	for i := 0; i < len(s)-1; i++ {
		ch := s[i]
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	// 99999999H overflows time.Duration (about 292 years): saturate.
	if unit == time.Hour && n > int64(1<<63-1)/int64(time.Hour) {
		return 1<<63 - 1, true
	}
	return time.Duration(n) * unit, true
}
