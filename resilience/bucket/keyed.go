package bucket

import (
	"sync"
	"time"

	"github.com/zelos-go/zelos/resilience/internal/mono"
)

// DefaultMaxKeys is the default cap on the number of keys a Keyed tracks.
const DefaultMaxKeys = 100_000

// Keyed keeps one Bucket per key, each of the same burst and interval.
//
// Memory stays bounded two ways. A bucket that has refilled to full is
// dropped, since a new bucket would give the same answers; that happens at
// most once per interval, in a sweep on the calling goroutine (no timer
// goroutine to stop). And when MaxKeys buckets are held and none is full,
// a new key evicts an arbitrary one. Eviction hands that key a full bucket
// on its next request, so under key churn the limit errs towards allowing:
// a caller who can mint keys freely (spoofed addresses, say) is not bounded
// by a per-key limiter at all, and needs a global one beside it.
type Keyed struct {
	burst    int
	interval time.Duration
	maxKeys  int
	now      Clock

	mu        sync.Mutex
	buckets   map[string]*Bucket
	lastSweep int64
}

// KeyedOption configures a Keyed.
type KeyedOption func(*Keyed)

// WithMaxKeys caps the number of buckets held. The default is
// DefaultMaxKeys; values below 1 are ignored.
func WithMaxKeys(n int) KeyedOption {
	return func(k *Keyed) {
		if n >= 1 {
			k.maxKeys = n
		}
	}
}

// WithClock sets the clock. The default is the monotonic clock.
func WithClock(now Clock) KeyedOption {
	return func(k *Keyed) { k.now = now }
}

// NewKeyed returns a Keyed whose buckets hold burst tokens and refill burst
// tokens per interval. It panics on the values New panics on.
func NewKeyed(burst int, interval time.Duration, opts ...KeyedOption) *Keyed {
	k := &Keyed{burst: burst, interval: interval, maxKeys: DefaultMaxKeys, now: mono.Now}
	for _, o := range opts {
		o(k)
	}
	NewWithClock(burst, interval, k.now) // validates burst and interval now, not on the first request
	k.buckets = make(map[string]*Bucket)
	k.lastSweep = k.now()
	return k
}

// Allow takes a token from key's bucket and reports whether there was one.
func (k *Keyed) Allow(key string) bool {
	ok, _ := k.Reserve(key)
	return ok
}

// Reserve is Bucket.Reserve on key's bucket.
func (k *Keyed) Reserve(key string) (bool, time.Duration) {
	return k.bucket(key).Reserve()
}

// Len returns the number of buckets held.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

func (k *Keyed) bucket(key string) *Bucket {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.buckets[key]; ok {
		return b
	}
	if now-k.lastSweep >= int64(k.interval) {
		k.sweep(now)
	}
	if len(k.buckets) >= k.maxKeys {
		for victim := range k.buckets {
			delete(k.buckets, victim)
			break
		}
	}
	b := NewWithClock(k.burst, k.interval, k.now)
	k.buckets[key] = b
	return b
}

// sweep drops the full buckets. It runs with k.mu held, at most once per
// interval, even when the cap is reached: a sweep per new key would make a
// flood of new keys quadratic. Its cost is amortised over an interval.
func (k *Keyed) sweep(now int64) {
	k.lastSweep = now
	for key, b := range k.buckets {
		if b.full(now) {
			delete(k.buckets, key)
		}
	}
}
