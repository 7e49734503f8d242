package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/zelos-go/zelos/registry"
)

var errStopped = errors.New("registry/kubernetes: watcher stopped")

// Watch lists the Service's EndpointSlices and watches them from the
// list's resource version. The first Next returns that list at once.
// The Watcher ends when ctx is done or Stop is called.
func (r *Registry) Watch(ctx context.Context, service string) (registry.Watcher, error) {
	wctx, cancel := context.WithCancel(ctx)
	w := &watcher{r: r, service: service, parent: ctx, ctx: wctx, cancel: cancel, slices: map[string]discoveryv1.EndpointSlice{}}
	if err := w.list(); err != nil {
		cancel()
		return nil, err
	}
	if err := w.start(); err != nil {
		cancel()
		return nil, err
	}
	// Stop the watch as soon as the watcher ends, even if Next is never
	// called again: an API fake buffers events for it until then.
	context.AfterFunc(wctx, w.stopWatch)
	return w, nil
}

type watcher struct {
	r       *Registry
	service string
	parent  context.Context // the caller's
	ctx     context.Context // ends the watcher: parent, or Stop
	cancel  context.CancelFunc

	mu sync.Mutex      // guards iw, which Stop ends
	iw watch.Interface // nil when it must be started again

	// Used only by Next (and Watch before it returns).
	rv      string                               // resource version to watch from
	slices  map[string]discoveryv1.EndpointSlice // the Service's slices, by name
	last    []*registry.ServiceInstance          // what Next returned last
	started bool                                 // the first Next has returned
}

// list reads every slice of the Service afresh.
func (w *watcher) list() error {
	l, err := w.r.client.DiscoveryV1().EndpointSlices(w.r.namespace).List(w.ctx, w.r.listOptions(w.service))
	if err != nil {
		return w.r.apiError("list", w.service, err)
	}
	clear(w.slices)
	for _, s := range l.Items {
		w.slices[s.Name] = s
	}
	w.rv = l.ResourceVersion
	return nil
}

func (w *watcher) start() error {
	opts := w.r.listOptions(w.service)
	opts.ResourceVersion = w.rv
	opts.AllowWatchBookmarks = true
	iw, err := w.r.client.DiscoveryV1().EndpointSlices(w.r.namespace).Watch(w.ctx, opts)
	if err != nil {
		return w.r.apiError("watch", w.service, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx.Err() != nil {
		iw.Stop() // Stop came first
		return w.stopErr()
	}
	w.iw = iw
	return nil
}

func (w *watcher) current() []*registry.ServiceInstance {
	items := make([]discoveryv1.EndpointSlice, 0, len(w.slices))
	for _, s := range w.slices {
		items = append(items, s)
	}
	return w.r.instances(w.service, items)
}

// Next returns the instances at once the first time, then blocks until
// they change. A watch the API server ends is started again from the last
// version seen; an expired version (410 Gone) makes it list again.
func (w *watcher) Next() ([]*registry.ServiceInstance, error) {
	if !w.started {
		if err := w.ctx.Err(); err != nil {
			return nil, w.stopErr()
		}
		w.started = true
		w.last = w.current()
		return w.last, nil
	}
	for {
		if w.ctx.Err() != nil {
			w.stopWatch()
			return nil, w.stopErr()
		}
		w.mu.Lock()
		iw := w.iw
		w.mu.Unlock()
		if iw == nil {
			if err := w.start(); err != nil {
				if w.ctx.Err() != nil {
					return nil, w.stopErr()
				}
				return nil, err
			}
			continue
		}
		var ev watch.Event
		var ok bool
		select {
		case <-w.ctx.Done():
			w.stopWatch()
			return nil, w.stopErr()
		case ev, ok = <-iw.ResultChan():
		}
		if !ok {
			w.stopWatch() // ended by the server: watch again from w.rv
			continue
		}
		if err := w.apply(ev); err != nil {
			return nil, err
		}
		list := w.current()
		if slices.EqualFunc(list, w.last, equal) {
			continue
		}
		w.last = list
		return list, nil
	}
}

// apply updates the slices with one event.
func (w *watcher) apply(ev watch.Event) error {
	switch ev.Type {
	case watch.Error:
		w.stopWatch()
		err := apierrors.FromObject(ev.Object)
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) && !isStatus(err, http.StatusGone) {
			return w.r.apiError("watch", w.service, err)
		}
		// The version is too old to watch from: list again.
		return w.list()
	case watch.Bookmark:
		if m, ok := ev.Object.(metav1.Object); ok && m.GetResourceVersion() != "" {
			w.rv = m.GetResourceVersion()
		}
		return nil
	}
	s, ok := ev.Object.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil
	}
	if s.ResourceVersion != "" {
		w.rv = s.ResourceVersion
	}
	if ev.Type == watch.Deleted || s.Labels[discoveryv1.LabelServiceName] != w.service {
		// A slice relabelled away from the Service leaves it too.
		delete(w.slices, s.Name)
		return nil
	}
	w.slices[s.Name] = *s
	return nil
}

func isStatus(err error, code int32) bool {
	var se apierrors.APIStatus
	return errors.As(err, &se) && se.Status().Code == code
}

func (w *watcher) stopWatch() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.iw != nil {
		w.iw.Stop()
		w.iw = nil
	}
}

// stopErr says why the watcher ended: the caller's context, or Stop.
func (w *watcher) stopErr() error {
	if err := w.parent.Err(); err != nil {
		return fmt.Errorf("registry/kubernetes: watch of %s ended: %w", w.service, err)
	}
	return errStopped
}

func equal(a, b *registry.ServiceInstance) bool {
	return a.ID == b.ID && slices.Equal(a.Endpoints, b.Endpoints) && maps.Equal(a.Metadata, b.Metadata)
}

// Stop ends the watcher and its watch; a blocked Next returns an error.
func (w *watcher) Stop() error {
	w.cancel()
	return nil
}
