// Package config loads layered configuration from Sources (files, the
// environment, ...), merges it into one tree addressed by dotted keys,
// expands ${...} placeholders, and reloads it when a Source changes.
//
// Sources merge in order: maps merge key by key and anything else in a
// later Source replaces what an earlier one set. Environment variables
// (package config/env) are matched onto existing keys case-insensitively,
// an underscore standing for either a dot or an underscore, so
// APP_DATA_PAGE_SIZE overrides "data.page_size" (see FormatEnv). After
// merging, the Resolver expands placeholders (see NewResolver).
//
// Scan decodes the configuration into a struct or proto message; with
// Strict, keys that the target has no field for are errors, so a typo such
// as "adress" is reported with the key it was probably meant to be.
//
// When a Source reports a change, Config merges and resolves again and
// calls the Observers of the keys whose values changed. A change that fails
// to decode or resolve is logged and ignored: the last good configuration
// stays in place.
//
// A Config is safe for concurrent use. Reads never block: each load
// publishes a new immutable tree.
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/log"
)

// ErrClosed is returned by Load and Watch after Close.
var ErrClosed = errors.New("config: closed")

// Observer is called with the key it watches and its new Value when a
// reload changes the configuration at or below that key. Observers run one
// at a time on a reload goroutine and must not call Load or Close.
type Observer func(key string, value Value)

// Config is a merged, hot-reloaded configuration.
type Config interface {
	// Load reads every Source, merges and resolves them, and publishes the
	// result. The first successful Load starts watching the Sources.
	Load() error
	// Scan decodes the whole configuration into v (see Value.Scan): proto
	// messages through protojson (unknown fields ignored; JSON or proto
	// field names), structs whose fields carry only `yaml` tags through
	// YAML, and anything else through encoding/json (`json` tags). With
	// Strict, keys that v has no field for are an error naming each of
	// them, so that typos are not silently ignored.
	Scan(v any, opts ...ScanOption) error
	// Value returns the configuration at the dotted key ("" is the root).
	Value(key string) Value
	// Watch calls o whenever a later load or reload changes the value at
	// key (compared deeply), including when the key appears or disappears.
	// The key need not exist yet.
	Watch(key string, o Observer) error
	// Close stops watching the Sources and waits for the reload goroutines
	// to exit. The last configuration stays readable.
	Close() error
}

// Option configures a Config.
type Option func(*options)

type options struct {
	sources  []Source
	decoder  Decoder
	resolver Resolver
	logger   log.Logger
}

// WithSource appends Sources; later Sources override earlier ones.
func WithSource(s ...Source) Option {
	return func(o *options) { o.sources = append(o.sources, s...) }
}

// WithDecoder replaces DefaultDecoder.
func WithDecoder(d Decoder) Option {
	return func(o *options) { o.decoder = d }
}

// WithResolver replaces the placeholder Resolver returned by
// NewResolver(nil).
func WithResolver(r Resolver) Option {
	return func(o *options) { o.resolver = r }
}

// WithLogger sets the Logger that reports failed reloads and panicking
// Observers. The default writes to standard error.
func WithLogger(l log.Logger) Option {
	return func(o *options) { o.logger = l }
}

type observer struct {
	key string
	fn  Observer
}

type config struct {
	opts options
	tree atomic.Pointer[map[string]any]

	mu        sync.Mutex     // serializes loads, reloads and notifications
	kvs       [][]*KeyValue  // last good KeyValues per Source; guarded by mu
	watchers  []Watcher      // guarded by mu
	started   bool           // guarded by mu
	closed    bool           // guarded by mu
	observers []observer     // guarded by obsMu
	obsMu     sync.Mutex     // guards observers
	done      chan struct{}  // closed by Close
	wg        sync.WaitGroup // reload goroutines
	closeOnce sync.Once
	closeErr  error
}

// New returns a Config reading the given Sources. Call Load before reading
// values, and Close when done (also after a failed Load).
func New(opts ...Option) Config {
	c := &config{done: make(chan struct{})}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.decoder == nil {
		c.opts.decoder = DefaultDecoder
	}
	if c.opts.resolver == nil {
		c.opts.resolver = NewResolver(nil)
	}
	if c.opts.logger == nil {
		c.opts.logger = log.NewStdLogger(os.Stderr)
	}
	c.kvs = make([][]*KeyValue, len(c.opts.sources))
	return c
}

func (c *config) Load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	// Start watching before reading, so that no change after the read is
	// missed; the goroutines start only once the first load succeeded.
	var ws []Watcher
	if !c.started {
		for i, s := range c.opts.sources {
			w, err := s.Watch()
			if err != nil {
				stopAll(ws)
				// A source that cannot be read usually cannot be watched
				// either (a missing file); its read error is the one to fix.
				if _, lerr := s.Load(); lerr != nil {
					return fmt.Errorf("config: load source %s: %w", sourceName(i, s), lerr)
				}
				return fmt.Errorf("config: watch source %s: %w", sourceName(i, s), err)
			}
			ws = append(ws, w)
		}
	}
	next := make([][]*KeyValue, len(c.opts.sources))
	for i, s := range c.opts.sources {
		kvs, err := s.Load()
		if err != nil {
			stopAll(ws)
			return fmt.Errorf("config: load source %s: %w", sourceName(i, s), err)
		}
		next[i] = kvs
	}
	tree, err := c.build(next)
	if err != nil {
		stopAll(ws)
		return err
	}
	c.kvs = next
	c.publish(tree)
	if !c.started {
		c.started = true
		for i, w := range ws {
			if w == nil {
				continue
			}
			c.watchers = append(c.watchers, w)
			c.wg.Add(1)
			go c.watch(i, w)
		}
	}
	return nil
}

func stopAll(ws []Watcher) {
	for _, w := range ws {
		if w != nil {
			_ = w.Stop()
		}
	}
}

// build merges and resolves the KeyValues of all Sources into a new tree.
// A panic in the Decoder or Resolver is returned as an error, so that it
// fails a reload rather than crashing the reload goroutine.
func (c *config) build(all [][]*KeyValue) (_ map[string]any, err error) {
	var cur *KeyValue // being decoded; nil while resolving
	defer func() {
		switch r := recover(); {
		case r == nil:
		case cur != nil:
			err = fmt.Errorf("config: decode %q: panic: %v", cur.Key, r)
		default:
			err = fmt.Errorf("config: resolve placeholders: panic: %v", r)
		}
	}()
	tree := map[string]any{}
	for _, kvs := range all {
		for _, kv := range kvs {
			cur = kv
			if kv.Format == FormatEnv {
				applyEnv(tree, kv)
				continue
			}
			m := map[string]any{}
			if err := c.opts.decoder(kv, m); err != nil {
				return nil, err
			}
			if len(tree) == 0 {
				tree = normalize(m).(map[string]any) // nothing to merge into: skip the copy
				continue
			}
			merge(tree, normalize(m).(map[string]any))
		}
	}
	cur = nil
	if err := c.opts.resolver(tree); err != nil {
		return nil, err
	}
	return tree, nil
}

// publish stores tree and notifies the observers of changed keys. c.mu
// must be held.
func (c *config) publish(tree map[string]any) {
	oldp := c.tree.Swap(&tree)
	if oldp == nil {
		return // first load: nothing changed from an observer's view
	}
	old := *oldp
	c.obsMu.Lock()
	obs := slices.Clone(c.observers)
	c.obsMu.Unlock()
	for _, o := range obs {
		ov, oldOK := lookup(old, o.key)
		nv, newOK := lookup(tree, o.key)
		if oldOK == newOK && reflect.DeepEqual(ov, nv) {
			continue
		}
		c.call(o, value{key: o.key, v: nv, ok: newOK})
	}
}

func (c *config) call(o observer, v Value) {
	defer func() {
		if r := recover(); r != nil {
			_ = c.opts.logger.Log(log.LevelError, "msg", "config: observer panicked", "key", o.key, "panic", r)
		}
	}()
	o.fn(o.key, v)
}

// watch feeds the changes of Source i to reload until Close.
func (c *config) watch(i int, w Watcher) {
	defer c.wg.Done()
	var backoff time.Duration
	for {
		kvs, err := w.Next()
		select {
		case <-c.done:
			return
		default:
		}
		if err != nil {
			_ = c.opts.logger.Log(log.LevelError, "msg", "config: watching source failed; keeping last good config",
				"source", sourceName(i, c.opts.sources[i]), "error", err)
			// Back off only when a Watcher fails repeatedly without blocking.
			if backoff > 0 {
				t := time.NewTimer(backoff)
				select {
				case <-c.done:
					t.Stop()
					return
				case <-t.C:
				}
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			continue
		}
		backoff = 0
		c.reload(i, kvs)
	}
}

// reload rebuilds the configuration with new KeyValues for Source i. On
// failure it logs and keeps the last good configuration.
func (c *config) reload(i int, kvs []*KeyValue) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || equalKVs(c.kvs[i], kvs) {
		return
	}
	next := slices.Clone(c.kvs)
	next[i] = kvs
	tree, err := c.build(next)
	if err != nil {
		_ = c.opts.logger.Log(log.LevelError, "msg", "config: reload failed; keeping last good config",
			"source", sourceName(i, c.opts.sources[i]), "error", err)
		return
	}
	c.kvs = next
	c.publish(tree)
}

// sourceName names Source i in errors and logs: its String method if it
// has one, else its index and type.
func sourceName(i int, s Source) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("#%d (%T)", i, s)
}

func equalKVs(a, b []*KeyValue) bool {
	return slices.EqualFunc(a, b, func(x, y *KeyValue) bool {
		return x.Key == y.Key && x.Format == y.Format && string(x.Value) == string(y.Value)
	})
}

func (c *config) Scan(v any, opts ...ScanOption) error {
	return c.Value("").Scan(v, opts...)
}

func (c *config) Value(key string) Value {
	var tree map[string]any
	if p := c.tree.Load(); p != nil {
		tree = *p
	}
	v, ok := lookup(tree, key)
	return value{key: key, v: v, ok: ok}
}

func (c *config) Watch(key string, o Observer) error {
	if o == nil {
		return fmt.Errorf("config: watch %q: nil Observer", key)
	}
	c.obsMu.Lock()
	defer c.obsMu.Unlock()
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	c.observers = append(c.observers, observer{key: key, fn: o})
	return nil
}

func (c *config) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		ws := c.watchers
		c.watchers = nil
		c.mu.Unlock()
		close(c.done)
		var errs []error
		for _, w := range ws {
			if err := w.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
		c.wg.Wait()
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
