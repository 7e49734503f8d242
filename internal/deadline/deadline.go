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
// Once Done is called, a Context costs more than context.WithTimeout (7
// allocs against 5: the channel, the timer and a watch on the parent come
// on top of the Context). So it suits server requests, most of which never
// wait on Done, and not client calls: grpc-go and net/http always do.
package deadline

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Context is a context.Context that is done at a deadline or when its
// parent is. Init it (or use New) before use; Release it when the request
// is done. Its methods are safe for concurrent use.
//
// One difference from context.WithDeadline: context.Cause reports the
// parent's cause, not context.DeadlineExceeded, because Context cannot
// answer the standard library's private cancelCtx key.
type Context struct {
	parent   context.Context
	deadline time.Time

	mu    sync.Mutex
	armed bool          // done, timer and stop are set
	done  chan struct{} // closed when err is set, once armed
	err   error
	timer *time.Timer
	stop  func() bool // stops the parent's AfterFunc
	after []*afterFunc
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
// from the clock and the parent; once Done was called it follows the
// channel, as the context package requires.
func (c *Context) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.armed {
		return c.err
	}
	if err := c.parent.Err(); err != nil {
		c.err = err
	} else if !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
	}
	return c.err
}

// Done implements context.Context. The first call makes the channel, and
// the timer and parent watch that close it.
func (c *Context) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.arm()
	return c.done
}

// arm makes the channel, closed at once if c is already done. c.mu is
// held.
func (c *Context) arm() {
	if c.armed {
		return
	}
	c.armed = true
	c.done = make(chan struct{})
	if c.err == nil {
		if err := c.parent.Err(); err != nil {
			c.err = err
		} else if !time.Now().Before(c.deadline) {
			c.err = context.DeadlineExceeded
		}
	}
	if c.err != nil {
		close(c.done)
		return
	}
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
	c.stop = context.AfterFunc(c.parent, func() { c.cancel(c.parent.Err()) })
}

// cancel ends c with err, unless it has ended already.
func (c *Context) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	close(c.done)
	c.release()
	for _, a := range c.after {
		go a.f()
	}
	c.after = nil
}

// Release stops the timer and the parent watch, if Done made them. Call
// it when the request is done; c stays usable (it just will not be
// canceled by its deadline anymore unless asked again).
func (c *Context) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release()
}

func (c *Context) release() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
}

type afterFunc struct{ f func() }

// AfterFunc runs f in its own goroutine once c is done, and returns a
// function that stops that, reporting whether it did. The context package
// uses it for the contexts derived from c, which would otherwise each
// start a goroutine to watch c's channel.
func (c *Context) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.arm()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	c.after = append(c.after, a)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.after, a)
		if i < 0 {
			return false
		}
		c.after = slices.Delete(c.after, i, i+1)
		return true
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
