// Package consul provides a config.Source that reads one key, or every key
// under a prefix, of Consul's KV store and watches it with blocking
// queries.
//
//	client, err := api.NewClient(api.DefaultConfig())
//	if err != nil { ... }
//	c := config.New(config.WithSource(
//		consul.NewSource(client, consul.WithPath("configs/greeter/")),
//	))
//	if err := c.Load(); err != nil { ... }
//
// A path ending in "/" is a prefix: every key under it is read, in key
// order. A key whose last segment has an extension ("configs/greeter/app.yaml")
// is a document in that format; a key without one is a flat string value at
// the dotted path of the key below the prefix ("configs/greeter/db/host" is
// "db.host"). WithFormat sets one format for every key instead.
package consul

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/zelos-go/zelos/config"
)

// Option configures a Source.
type Option func(*source)

// WithPath sets the key to read, or the prefix of the keys to read when it
// ends with "/". Required.
func WithPath(p string) Option {
	return func(s *source) { s.path = strings.TrimPrefix(p, "/") }
}

// WithFormat sets the format of every key ("yaml", "json", ...) instead of
// taking it from the key's extension.
func WithFormat(format string) Option {
	return func(s *source) { s.format = format }
}

// WithWaitTime sets how long a blocking query waits for a change before
// Consul answers with the unchanged data and the watcher asks again. Zero
// or less means the default, 5m; Consul caps it at 10m.
func WithWaitTime(d time.Duration) Option {
	return func(s *source) {
		if d > 0 {
			s.wait = d
		}
	}
}

// WithDatacenter reads the KV store of datacenter dc. The default is the
// client's datacenter.
func WithDatacenter(dc string) Option {
	return func(s *source) { s.dc = dc }
}

type source struct {
	client *api.Client
	path   string
	format string
	wait   time.Duration
	dc     string
}

// NewSource returns a Source reading the key or prefix set by WithPath
// through client.
//
// A single key that is missing is an error from Load and from the Watcher
// (so the last good configuration stays when it is deleted); under a
// prefix, keys come and go freely.
func NewSource(client *api.Client, opts ...Option) config.Source {
	s := &source{client: client, wait: 5 * time.Minute}
	for _, o := range opts {
		o(s)
	}
	return s
}

// String names the source in errors and logs.
func (s *source) String() string {
	return "consul kv " + s.path
}

func (s *source) prefix() bool { return strings.HasSuffix(s.path, "/") }

func (s *source) check() error {
	switch {
	case s.client == nil:
		return errors.New("consul: nil client")
	case s.path == "":
		return errors.New("consul: no key; set one with WithPath")
	}
	return nil
}

func (s *source) Load() ([]*config.KeyValue, error) {
	kvs, _, err := s.get(context.Background(), 0)
	return kvs, err
}

// get reads the key or prefix, as a blocking query when index is above
// zero, and returns what it read with the X-Consul-Index of the answer.
func (s *source) get(ctx context.Context, index uint64) ([]*config.KeyValue, uint64, error) {
	if err := s.check(); err != nil {
		return nil, 0, err
	}
	q := (&api.QueryOptions{Datacenter: s.dc, WaitIndex: index, WaitTime: s.wait}).WithContext(ctx)
	var (
		pairs api.KVPairs
		meta  *api.QueryMeta
		err   error
	)
	if s.prefix() {
		pairs, meta, err = s.client.KV().List(s.path, q)
	} else {
		var p *api.KVPair
		p, meta, err = s.client.KV().Get(s.path, q)
		if p != nil {
			pairs = api.KVPairs{p}
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("consul: get %s: %w", s.path, err)
	}
	if !s.prefix() && len(pairs) == 0 {
		return nil, meta.LastIndex, fmt.Errorf("consul: key %s not found", s.path)
	}
	kvs := make([]*config.KeyValue, 0, len(pairs))
	for _, p := range pairs {
		if strings.HasSuffix(p.Key, "/") {
			continue // a folder, as the Consul UI creates them
		}
		kvs = append(kvs, s.keyValue(p.Key, p.Value))
	}
	return kvs, meta.LastIndex, nil
}

// keyValue turns a Consul key into a config.KeyValue (see the package doc).
// The same mapping is written in contrib/config/etcd: the modules share no
// package but the core, and two copies of ten lines beat a core API
// for key names.
func (s *source) keyValue(key string, value []byte) *config.KeyValue {
	format := s.format
	if format == "" {
		format = strings.ToLower(strings.TrimPrefix(path.Ext(path.Base(key)), "."))
	}
	if format != "" {
		return &config.KeyValue{Key: key, Value: value, Format: format}
	}
	rel := strings.Trim(strings.TrimPrefix(key, s.path), "/")
	if rel == "" {
		rel = path.Base(key)
	}
	return &config.KeyValue{Key: strings.ReplaceAll(rel, "/", "."), Value: value}
}

var errStopped = errors.New("consul: watcher stopped")

// Watch reads the key or prefix once for its index, so that the first
// blocking query returns on any change made after Watch, and returns a
// Watcher that follows it.
func (s *source) Watch() (config.Watcher, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	kvs, index, err := s.get(ctx, 0)
	if index == 0 && err != nil {
		// No index means Consul was not reached; a missing single key
		// still has one, and Load reports it.
		cancel()
		return nil, err
	}
	return &watcher{src: s, ctx: ctx, cancel: cancel, index: index, last: kvs}, nil
}

type watcher struct {
	src    *source
	ctx    context.Context // canceled by Stop
	cancel context.CancelFunc
	index  uint64             // X-Consul-Index of the last answer
	last   []*config.KeyValue // what the last answer held; used only by Next
}

// Next runs blocking queries until the index moves and the keys differ
// from what was last seen, then returns them all.
func (w *watcher) Next() ([]*config.KeyValue, error) {
	for {
		if w.ctx.Err() != nil {
			return nil, errStopped
		}
		kvs, index, err := w.src.get(w.ctx, max(w.index, 1))
		if w.ctx.Err() != nil {
			return nil, errStopped
		}
		if err != nil {
			if index != 0 {
				w.index = index // a missing key has an index to block on
			}
			w.last = nil // whatever comes back next is news
			return nil, err
		}
		if index == w.index {
			continue // the wait elapsed without a change
		}
		// A lower index means Consul's store was replaced (a restored
		// snapshot): its documentation says to start over, and the new
		// index is where the next query blocks.
		w.index = index
		// The index also moves on writes that change nothing this source
		// returns (a rewrite of the same value, a folder): report only
		// real changes.
		if slices.EqualFunc(kvs, w.last, equal) {
			continue
		}
		w.last = kvs
		return kvs, nil
	}
}

func equal(a, b *config.KeyValue) bool {
	return a.Key == b.Key && a.Format == b.Format && string(a.Value) == string(b.Value)
}

// Stop cancels the blocking query in flight, which makes Next return.
func (w *watcher) Stop() error {
	w.cancel()
	return nil
}
