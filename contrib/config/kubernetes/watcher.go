package kubernetes

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/zelos-go/zelos/config"
)

var errStopped = errors.New("kubernetes: watcher stopped")

// Watch lists every stream for its resource version and watches each from
// there, so that no change made after Watch returns is missed. A named
// object that does not exist yet is watched too: Load reports it, and the
// watcher reports it once it is created.
func (s *source) Watch() (config.Watcher, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	kvs, rvs, err := s.read(ctx)
	if _, missing := err.(*notFoundError); err != nil && !missing {
		cancel()
		return nil, err
	}
	w := &watcher{src: s, ctx: ctx, cancel: cancel, rvs: rvs, ws: make([]watch.Interface, len(s.streams)), last: kvs}
	if err := w.start(); err != nil {
		_ = w.Stop()
		return nil, err
	}
	return w, nil
}

type watcher struct {
	src    *source
	ctx    context.Context // canceled by Stop
	cancel context.CancelFunc
	rvs    []string           // per stream, the resource version to watch from; used only by Next
	last   []*config.KeyValue // what Next last returned, or Watch read; used only by Next

	mu      sync.Mutex        // guards ws and stopped against Stop
	ws      []watch.Interface // per stream; nil until started, and after it ended
	stopped bool
}

// start watches the streams that are not being watched. w.mu must not be
// held.
func (w *watcher) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, st := range w.src.streams {
		if w.stopped {
			return errStopped
		}
		if w.ws[i] != nil {
			continue
		}
		iw, err := w.src.watchStream(w.ctx, st, w.rvs[i])
		if err != nil {
			return err
		}
		w.ws[i] = iw
	}
	return nil
}

// end stops the watch of stream i, so that the next start watches it again.
func (w *watcher) end(i int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ws[i] != nil {
		w.ws[i].Stop()
		w.ws[i] = nil
	}
}

// Next waits for an event on any stream, then reads every stream again, so
// that it always returns the complete configuration, and returns it if it
// differs from what it returned last.
func (w *watcher) Next() ([]*config.KeyValue, error) {
	for {
		if w.ctx.Err() != nil {
			return nil, errStopped
		}
		if err := w.start(); err != nil {
			if w.ctx.Err() != nil {
				return nil, errStopped
			}
			return nil, err
		}
		i, ev, ok := w.wait()
		if w.ctx.Err() != nil {
			return nil, errStopped
		}
		if !ok {
			// The API server ends watches after a while: watch again
			// from the last version seen.
			w.end(i)
			continue
		}
		gone := false
		switch ev.Type {
		case watch.Error:
			w.end(i)
			err := apierrors.FromObject(ev.Object)
			if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) && !isStatus(err, http.StatusGone) {
				return nil, w.src.apiError("watch", w.src.streams[i].resource, err)
			}
			// The version is too old to watch from: list again.
			gone = true
		case watch.Bookmark:
			w.setVersion(i, ev)
			continue
		default:
			w.setVersion(i, ev)
		}
		kvs, rvs, err := w.src.read(w.ctx)
		if gone {
			w.rvs[i] = "" // at worst, the API replays every object
			if rvs != nil {
				w.rvs[i] = rvs[i]
			}
		}
		if err != nil {
			if w.ctx.Err() != nil {
				return nil, errStopped
			}
			w.last = nil // whatever comes back next is news
			return nil, err
		}
		if slices.EqualFunc(kvs, w.last, equal) {
			continue
		}
		w.last = kvs
		return kvs, nil
	}
}

func isStatus(err error, code int32) bool {
	var se apierrors.APIStatus
	return errors.As(err, &se) && se.Status().Code == code
}

// wait blocks until a stream delivers an event or ends, or Stop is called.
func (w *watcher) wait() (int, watch.Event, bool) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return 0, watch.Event{}, false
	}
	cases := make([]reflect.SelectCase, 0, len(w.ws)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.ctx.Done())})
	for _, iw := range w.ws {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(iw.ResultChan())})
	}
	w.mu.Unlock()
	// reflect.Select, because the number of streams is the user's.
	chosen, v, ok := reflect.Select(cases)
	if chosen == 0 {
		return 0, watch.Event{}, false
	}
	if !ok {
		return chosen - 1, watch.Event{}, false
	}
	return chosen - 1, v.Interface().(watch.Event), true
}

// setVersion records the resource version of an event's object, where the
// stream watches from next time.
func (w *watcher) setVersion(i int, ev watch.Event) {
	if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
		w.rvs[i] = m.GetResourceVersion()
	}
}

func equal(a, b *config.KeyValue) bool {
	return a.Key == b.Key && a.Format == b.Format && string(a.Value) == string(b.Value)
}

// Stop ends every watch, which makes Next return.
func (w *watcher) Stop() error {
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	for i, iw := range w.ws {
		if iw != nil {
			iw.Stop()
			w.ws[i] = nil
		}
	}
	return nil
}
