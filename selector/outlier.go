package selector

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/failure"
)

// Outlier ejection defaults.
const (
	// DefaultEjectAfter is the number of consecutive backend failures that
	// ejects a node.
	DefaultEjectAfter = 5
	// DefaultEjectionTime is the base ejection time: a node's n-th ejection
	// lasts n times as long.
	DefaultEjectionTime = 30 * time.Second
	// DefaultMaxEjectionTime bounds one ejection.
	DefaultMaxEjectionTime = 300 * time.Second
	// DefaultMaxEjectedShare is the largest share of a picker's nodes
	// ejected at once.
	DefaultMaxEjectedShare = 0.5
)

// EjectAfter sets how many consecutive backend failures eject a node from
// picks (outlier ejection). Backend failures are those that
// middleware/circuitbreaker.IsBackendFailure counts: 500, 502, 503 and 504
// replies, deadlines exceeded and connection errors; any other reply,
// success or 4xx, resets the count, and a caller's cancellation leaves it
// as it is. The default is DefaultEjectAfter (5); 0 or less turns outlier
// ejection off. Ejection works with every balancer: ejected nodes are left
// out before the balancer picks.
func EjectAfter(n int) Option {
	return func(o *options) { o.eject.after = n }
}

// EjectionTime sets the base ejection time: a node's n-th ejection lasts n
// times this, up to MaxEjectionTime, and the node comes back on its own
// when it ends. Each base time a node spends back in the picks forgives one
// of its earlier ejections. The default is DefaultEjectionTime (30s).
func EjectionTime(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.eject.base = d
		}
	}
}

// MaxEjectionTime bounds one ejection. The default is
// DefaultMaxEjectionTime (300s).
func MaxEjectionTime(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.eject.max = d
		}
	}
}

// MaxEjectedShare sets the largest share of a picker's nodes, from 0 to 1,
// that may be ejected at once; a node that reaches EjectAfter while the
// share is used up stays in the picks. With the default,
// DefaultMaxEjectedShare (0.5), 2 of 5 nodes may be ejected, and a lone
// node never is.
func MaxEjectedShare(f float64) Option {
	return func(o *options) {
		if f >= 0 && f <= 1 {
			o.eject.share = f
		}
	}
}

// ejectConfig holds the outlier ejection options.
type ejectConfig struct {
	after int
	base  time.Duration
	max   time.Duration
	share float64
	now   func() int64 // nanoseconds; tests set a fake clock
}

func defaultEjectConfig() ejectConfig {
	return ejectConfig{
		after: DefaultEjectAfter,
		base:  DefaultEjectionTime,
		max:   DefaultMaxEjectionTime,
		share: DefaultMaxEjectedShare,
		now:   nanotime,
	}
}

// ejector is the outlier ejection state of one picker.
type ejector struct {
	cfg ejectConfig
	p   *picker

	// until is the latest end of any ejection, 0 when none is in force.
	// Until then Select checks each node; otherwise it skips the check.
	until atomic.Int64
	mu    sync.Mutex // serializes ejections, so the share is never exceeded
}

func newEjector(cfg ejectConfig, p *picker) *ejector {
	if cfg.after <= 0 {
		return nil
	}
	if cfg.now == nil {
		cfg.now = nanotime
	}
	return &ejector{cfg: cfg, p: p}
}

// health is the outlier state of one node. It lives as long as the node's
// WeightedNode, across Apply calls that keep the node.
type health struct {
	e           *ejector
	consecutive atomic.Int64 // backend failures in a row
	until       atomic.Int64 // clock reading when the ejection ends; 0: never ejected
	ejections   int64        // guarded by e.mu
	done        DoneFunc     // h.record, built once so that recording allocates nothing
}

func (e *ejector) newHealth() *health {
	h := &health{e: e}
	h.done = h.record
	return h
}

// ejected reports whether the node is out of the picks at time now.
func (h *health) ejected(now int64) bool { return h.until.Load() > now }

// record counts the outcome of one request.
func (h *health) record(_ context.Context, di DoneInfo) {
	switch {
	case di.Abandoned:
	case di.Err == nil || !failure.IsBackend(di.Err):
		// A caller's cancellation says nothing about the node. The load
		// first keeps the common case, a success after a success, from
		// writing to a cache line every request shares.
		if di.Err == nil || errors.Code(di.Err) != 499 {
			if h.consecutive.Load() != 0 {
				h.consecutive.Store(0)
			}
		}
	case h.consecutive.Add(1) >= int64(h.e.cfg.after):
		h.e.eject(h)
	}
}

// wrap returns the DoneFunc that calls the balancer's done and records the
// outcome.
func (h *health) wrap(done DoneFunc) DoneFunc {
	if isNoop(done) {
		return h.done
	}
	return func(ctx context.Context, di DoneInfo) {
		done(ctx, di)
		h.record(ctx, di)
	}
}

// noopPC is the code address of noopDone.
var noopPC = reflect.ValueOf(DoneFunc(noopDone)).Pointer()

// isNoop reports whether done is noopDone, the DoneFunc of DirectBuilder's
// nodes (random, roundrobin, wrr). For those the health's own DoneFunc
// replaces it, so their picks stay allocation-free with ejection on
// (BenchmarkSelect: 0 allocs, where a wrapping closure costs one).
func isNoop(done DoneFunc) bool { return reflect.ValueOf(done).Pointer() == noopPC }

// eject takes h's node out of the picks, unless it already is, its node is
// no longer in the picker, or the share of ejected nodes is used up.
func (e *ejector) eject(h *health) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.now()
	if h.ejected(now) || h.consecutive.Load() < int64(e.cfg.after) {
		return // requests in flight when it was ejected, or a success since
	}
	set := e.p.set.Load()
	if set == nil {
		return
	}
	ejected, member := 0, false
	for _, o := range set.health {
		if o == h {
			member = true
		}
		if o.ejected(now) {
			ejected++
		}
	}
	if !member || float64(ejected+1) > e.cfg.share*float64(len(set.nodes)) {
		return
	}
	if last := h.until.Load(); h.ejections > 0 {
		h.ejections = max(h.ejections-(now-last)/int64(e.cfg.base), 0)
	}
	h.ejections++
	d := min(time.Duration(h.ejections)*e.cfg.base, e.cfg.max)
	h.until.Store(now + int64(d))
	h.consecutive.Store(0)
	if now+int64(d) > e.until.Load() {
		e.until.Store(now + int64(d))
	}
}

// anyEjected reports whether some node may be ejected now. A picker that
// has no ejection in force skips even the clock read: once the latest
// ejection is over, until goes back to 0 (unless a new ejection raced in).
func (e *ejector) anyEjected() bool {
	u := e.until.Load()
	if u == 0 {
		return false
	}
	if u > e.cfg.now() {
		return true
	}
	e.until.CompareAndSwap(u, 0)
	return false
}

// admit removes the ejected nodes from nodes, in place. If every node is
// ejected, which the share allows only when nodes were narrowed by
// filters, it keeps them all: a request to a failing node beats failing it
// here.
func (e *ejector) admit(set *nodeSet, nodes []WeightedNode) []WeightedNode {
	now := e.cfg.now()
	n := 0
	for _, wn := range nodes {
		if h := set.health[wn]; h == nil || !h.ejected(now) {
			n++
		}
	}
	if n == 0 || n == len(nodes) {
		return nodes
	}
	out := nodes[:0]
	for _, wn := range nodes {
		if h := set.health[wn]; h == nil || !h.ejected(now) {
			out = append(out, wn)
		}
	}
	return out
}
