package apollo

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/internal/backoff"
)

// errStopped is returned by Next after Stop.
var errStopped = errors.New("apollo: watcher stopped")

// minPollGap spaces polls that come back with nothing at once, so that a
// proxy answering 304 without holding the request is not hammered; the
// config service itself holds each poll for up to 60 seconds.
const minPollGap = 100 * time.Millisecond

// watcher follows the notifications of a Source's namespaces. Next runs the
// long poll in the caller's goroutine; Stop cancels it.
type watcher struct {
	s      *Source
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	// ids are the notification IDs of the namespaces as last read, by
	// request name; -1, Apollo's "none yet", makes the first poll answer
	// at once with the current IDs. Only Next touches ids and last.
	ids  map[string]int64
	last []*config.KeyValue
}

func newWatcher(s *Source) (*watcher, error) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{s: s, ctx: ctx, cancel: cancel, ids: map[string]int64{}}
	s.mu.Lock()
	s.watching++
	s.mu.Unlock()
	for _, ns := range s.spaces {
		w.ids[ns.request] = -1
	}
	// Reading the namespaces now, rather than in the first Next, makes a
	// release published between Watch and Next a change that Next reports.
	rctx, rcancel := context.WithTimeout(ctx, requestTimeout)
	defer rcancel()
	kvs, err := s.load(rctx, nil)
	if err != nil {
		_ = w.Stop()
		return nil, err
	}
	w.last = kvs
	return w, nil
}

// Next blocks until a namespace has a new release whose content differs
// from what the watcher last returned (or read when it was created), and
// returns the configuration of all the namespaces. A failed poll or read is
// returned as an error; the watcher stays usable, and the next call picks up
// where it failed, so no release is missed.
func (w *watcher) Next() ([]*config.KeyValue, error) {
	for {
		if w.ctx.Err() != nil {
			return nil, errStopped
		}
		start := time.Now()
		moved, err := w.s.poll(w.ctx, w.ids)
		if err != nil {
			return nil, w.stopped(err)
		}
		if moved == nil {
			if backoff.Sleep(w.ctx, nil, minPollGap-time.Since(start)) != nil {
				return nil, errStopped
			}
			continue
		}
		ids := maps.Clone(w.ids)
		maps.Copy(ids, moved)
		ctx, cancel := context.WithTimeout(w.ctx, requestTimeout)
		kvs, err := w.s.load(ctx, moved)
		cancel()
		if err != nil {
			// The IDs stay as they were, so the next poll answers at once
			// and the read is tried again.
			return nil, w.stopped(err)
		}
		w.ids = ids
		if equalKVs(kvs, w.last) {
			continue // a release with the same content, such as a rollback of nothing
		}
		w.last = kvs
		return kvs, nil
	}
}

// stopped turns the error of a request that Stop cancelled into errStopped.
func (w *watcher) stopped(err error) error {
	if w.ctx.Err() != nil {
		return errStopped
	}
	return err
}

// Stop cancels a pending poll and makes Next return an error. It is safe to
// call more than once and from any goroutine.
func (w *watcher) Stop() error {
	w.once.Do(func() {
		w.cancel()
		w.s.mu.Lock()
		w.s.watching--
		w.s.mu.Unlock()
		w.s.idle()
	})
	return nil
}

func equalKVs(a, b []*config.KeyValue) bool {
	return slices.EqualFunc(a, b, func(x, y *config.KeyValue) bool {
		return x.Key == y.Key && x.Format == y.Format && string(x.Value) == string(y.Value)
	})
}
