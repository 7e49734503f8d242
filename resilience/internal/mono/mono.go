// Package mono is the default clock of the resilience packages: the
// monotonic clock in nanoseconds, so that a wall-clock step (NTP, a VM
// resumed) neither refills a bucket nor opens a breaker.
package mono

import "time"

// epoch anchors Now to the monotonic reading time.Now carries.
var epoch = time.Now()

// Now returns the nanoseconds since the process loaded this package, on the
// monotonic clock.
func Now() int64 { return int64(time.Since(epoch)) }
