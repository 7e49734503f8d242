package nacos

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients/config_client"

	"github.com/zelos-go/zelos/config"
)

// errStopped is returned by Next after Stop.
var errStopped = errors.New("nacos: watcher stopped")

// watcher turns the SDK's change calls into Next results.
type watcher struct {
	s       *Source
	client  config_client.IConfigClient
	changed chan struct{} // holds one wake-up at most
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once

	mu     sync.Mutex
	latest string // content of the last change call; guarded by mu

	last string // content last returned, or read by Watch; only Next touches it
}

// offer records the content of a change and wakes Next.
func (w *watcher) offer(content string) {
	w.mu.Lock()
	w.latest = content
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default: // one is pending already, and reads latest
	}
}

// resync is how often Next reads the content itself. The SDK can lose a
// change: a change notice that arrives while its listen request is in
// flight is overwritten when the answer, from before the change, comes back
// (config_client.go, executeConfigListen), and the SDK only listens to that
// data ID again in its full sync, every five minutes.
const resync = time.Minute

// Next blocks until the content differs from what it last returned and
// returns it.
func (w *watcher) Next() ([]*config.KeyValue, error) {
	t := time.NewTimer(w.s.resync)
	defer t.Stop()
	for {
		var content string
		select {
		case <-w.ctx.Done():
			return nil, errStopped
		case <-w.changed:
			w.mu.Lock()
			content = w.latest
			w.mu.Unlock()
		case <-t.C:
			t.Reset(w.s.resync)
			read, err := w.s.get(w.ctx, w.client)
			if err != nil {
				if w.ctx.Err() != nil {
					return nil, errStopped
				}
				continue // the SDK logs it; the next change or resync tries again
			}
			content = read
		}
		if content == w.last {
			continue // the SDK's first call when listening starts, or a publish of the same content
		}
		w.last = content
		return w.s.keyValues(content), nil
	}
}

// Stop ends the watch and makes Next return an error; the Source closes its
// SDK client when this was its last user. It is safe to call more than
// once and from any goroutine.
func (w *watcher) Stop() error {
	w.once.Do(func() {
		w.cancel()
		w.s.unlisten(w.client, w)
		w.s.release()
	})
	return nil
}
