package configtest_test

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/configtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// memory is a minimal Source over a map, with one channel per Watcher.
type memory struct {
	mu       sync.Mutex
	data     map[string][]byte
	watchers map[*watcher]struct{}
}

func (m *memory) Load() ([]*config.KeyValue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snapshot(), nil
}

// snapshot must be called with m.mu held.
func (m *memory) snapshot() []*config.KeyValue {
	var kvs []*config.KeyValue
	for _, k := range slices.Sorted(maps.Keys(m.data)) {
		kvs = append(kvs, &config.KeyValue{Key: k, Value: m.data[k], Format: "json"})
	}
	return kvs
}

func (m *memory) Watch() (config.Watcher, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &watcher{m: m, ch: make(chan []*config.KeyValue, 16), done: make(chan struct{})}
	m.watchers[w] = struct{}{}
	return w, nil
}

func (m *memory) set(key string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if data == nil {
		delete(m.data, key)
	} else {
		m.data[key] = data
	}
	for w := range m.watchers {
		w.ch <- m.snapshot()
	}
}

type watcher struct {
	m    *memory
	ch   chan []*config.KeyValue
	done chan struct{}
	once sync.Once
}

func (w *watcher) Next() ([]*config.KeyValue, error) {
	select {
	case <-w.done:
		return nil, errors.New("memory: watcher stopped")
	default:
	}
	select {
	case kvs := <-w.ch:
		return kvs, nil
	case <-w.done:
		return nil, errors.New("memory: watcher stopped")
	}
}

func (w *watcher) Stop() error {
	w.once.Do(func() {
		w.m.mu.Lock()
		delete(w.m.watchers, w)
		w.m.mu.Unlock()
		close(w.done)
	})
	return nil
}

func TestRun(t *testing.T) {
	m := &memory{data: map[string][]byte{}, watchers: map[*watcher]struct{}{}}
	harness := configtest.Harness{
		Keys:   []string{"one", "two"},
		New:    func(*testing.T) config.Source { return m },
		Put:    func(_ *testing.T, key string, data []byte) { m.set(key, data) },
		Delete: func(_ *testing.T, key string) { m.set(key, nil) },
	}
	t.Run("two keys", func(t *testing.T) { configtest.Run(t, harness) })

	t.Run("one key under a namespace", func(t *testing.T) {
		h := harness
		h.Keys = []string{"ns"}
		h.Path = func(key, field string) string { return key + "." + field }
		h.Marshal = func(key string, fields map[string]string) []byte {
			b := []byte(`{"` + key + `":{`)
			for i, f := range slices.Sorted(maps.Keys(fields)) {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `"`+f+`":"`+fields[f]+`"`...)
			}
			return append(b, "}}"...)
		}
		h.Skip = map[string]string{"delete": "keys of this backend cannot be deleted"}
		configtest.Run(t, h)
	})
}
