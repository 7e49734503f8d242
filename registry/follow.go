package registry

import (
	"context"
	"time"

	"github.com/zelos-go/zelos/internal/backoff"
)

// FollowOption configures Follow.
type FollowOption func(*followOptions)

type followOptions struct {
	onError func(err error, retryIn time.Duration) bool
	policy  backoff.Policy
	clock   backoff.Clock
}

// OnWatchError sets fn, called each time watching fails (Watch or Next
// returned an error), with the error and the delay before the next watch.
// If fn returns false Follow stops and returns the error. Callers use it to
// log, and to report the failure to whoever waits for instances. By
// default failures are retried silently.
func OnWatchError(fn func(err error, retryIn time.Duration) bool) FollowOption {
	return func(o *followOptions) { o.onError = fn }
}

// withBackoff replaces the retry policy and the clock; for tests only, so
// that the one policy of the tree is not up to each caller.
func withBackoff(p backoff.Policy, c backoff.Clock) FollowOption {
	return func(o *followOptions) { o.policy, o.clock = p, c }
}

// Follow watches the instances of service in d and calls update with every
// list its watchers return, from the calling goroutine, until ctx is done;
// it then stops the watcher and returns ctx's error.
//
// A Watcher whose Watch or Next fails is broken for good, so Follow stops
// it and, after a delay, watches again: it never calls Next on a failed
// watcher. The delays are those of every registry reconnect loop in Zelos
// (backoff.Reconnect: 100ms doubling to 5s, ±20% jitter); they start over
// once a watcher has delivered instances for longer than the longest
// delay, so that a registry that keeps accepting watches only to drop them
// at once is not hammered. update keeps the last list meanwhile, since
// Follow reports nothing to it during an outage.
//
// Follow is the one watch loop shared by the HTTP and gRPC clients and the
// selector.
func Follow(ctx context.Context, d Discovery, service string, update func([]*ServiceInstance), opts ...FollowOption) error {
	o := followOptions{policy: backoff.Reconnect(), clock: backoff.SystemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	b := o.policy.Start()
	for {
		start := o.clock.Now()
		delivered, err := followOnce(ctx, d, service, update)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if delivered && o.clock.Now().Sub(start) >= o.policy.Max {
			b.Reset()
		}
		delay := b.Next()
		if o.onError != nil && !o.onError(err, delay) {
			return err
		}
		if err := o.clock.Sleep(ctx, delay); err != nil {
			return err
		}
	}
}

// followOnce runs one watcher until it fails or ctx is done, and reports
// whether it delivered any list.
func followOnce(ctx context.Context, d Discovery, service string, update func([]*ServiceInstance)) (delivered bool, err error) {
	w, err := d.Watch(ctx, service)
	if err != nil {
		return false, err
	}
	// Stop unblocks Next when ctx is done, even if the Discovery ignores the
	// context given to Watch.
	stop := context.AfterFunc(ctx, func() { _ = w.Stop() })
	defer func() {
		if stop() {
			_ = w.Stop()
		}
	}()
	for {
		list, err := w.Next()
		if err != nil {
			return delivered, err
		}
		if ctx.Err() != nil {
			// A list read as the watch was being stopped is not delivered:
			// the caller may already have released what update writes to.
			return delivered, ctx.Err()
		}
		delivered = true
		update(list)
	}
}
