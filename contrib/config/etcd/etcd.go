// Package etcd provides a config.Source that reads one etcd key, or every
// key under a prefix, and watches it for changes.
//
//	client, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}})
//	if err != nil { ... }
//	defer client.Close()
//	c := config.New(config.WithSource(
//		etcd.NewSource(client, etcd.WithPath("/configs/greeter/"), etcd.WithPrefix(true)),
//	))
//	if err := c.Load(); err != nil { ... }
//
// A key whose last segment has an extension ("/configs/greeter/app.yaml")
// is a document in that format; a key without one is a flat string value at
// the dotted path of the key below the prefix ("/configs/greeter/db/host"
// is "db.host"). WithFormat sets one format for every key instead.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/zelos-go/zelos/config"
)

// Option configures a Source.
type Option func(*source)

// WithPath sets the key to read or, with WithPrefix(true), the prefix of
// the keys to read. Required.
func WithPath(p string) Option {
	return func(s *source) { s.path = p }
}

// WithPrefix reads every key that starts with the path, in key order, so
// that later keys override earlier ones. End the path with "/" to read one
// directory: "/app" also matches "/app2/x". The default, false, reads the
// path as one key.
func WithPrefix(prefix bool) Option {
	return func(s *source) { s.prefix = prefix }
}

// WithFormat sets the format of every key ("yaml", "json", ...) instead of
// taking it from the key's extension.
func WithFormat(format string) Option {
	return func(s *source) { s.format = format }
}

// WithTimeout bounds each read of etcd. Zero or less means the default,
// 5s.
func WithTimeout(d time.Duration) Option {
	return func(s *source) {
		if d > 0 {
			s.timeout = d
		}
	}
}

type source struct {
	client  *clientv3.Client
	path    string
	prefix  bool
	format  string
	timeout time.Duration
}

// NewSource returns a Source reading the key set by WithPath, or the keys
// under it with WithPrefix(true), through client. The caller owns client
// and closes it after the Config that uses the Source.
//
// With a single key, a missing key is an error from Load and from the
// Watcher (so the last good configuration stays when it is deleted); under
// a prefix, keys come and go freely.
func NewSource(client *clientv3.Client, opts ...Option) config.Source {
	s := &source{client: client, timeout: 5 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

// String names the source in errors and logs.
func (s *source) String() string {
	if s.prefix {
		return "etcd prefix " + s.path
	}
	return "etcd key " + s.path
}

func (s *source) check() error {
	switch {
	case s.client == nil:
		return errors.New("etcd: nil client")
	case s.path == "":
		return errors.New("etcd: no key; set one with WithPath")
	}
	return nil
}

func (s *source) Load() ([]*config.KeyValue, error) {
	kvs, _, err := s.get(context.Background())
	return kvs, err
}

// get reads the keys and returns them with the revision they were read at.
func (s *source) get(ctx context.Context) ([]*config.KeyValue, int64, error) {
	if err := s.check(); err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var opts []clientv3.OpOption
	if s.prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	resp, err := s.client.Get(ctx, s.path, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("etcd: get %s: %w", s.path, err)
	}
	if !s.prefix && len(resp.Kvs) == 0 {
		return nil, resp.Header.Revision, fmt.Errorf("etcd: key %s not found", s.path)
	}
	kvs := make([]*config.KeyValue, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		kvs = append(kvs, s.keyValue(string(kv.Key), kv.Value))
	}
	return kvs, resp.Header.Revision, nil
}

// keyValue turns an etcd key into a config.KeyValue (see the package doc).
// The same mapping is written in contrib/config/consul: the modules share no
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

var errStopped = errors.New("etcd: watcher stopped")

// Watch reads the current revision and watches from the one after it, so
// that no change made after Watch returns is missed, even one made before
// etcd has set the watch up.
func (s *source) Watch() (config.Watcher, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{src: s, ctx: ctx, cancel: cancel}
	// A missing single key still has a revision: the watch can start, and
	// Load reports the key. No revision means etcd could not be read.
	_, rev, err := s.get(ctx)
	if rev == 0 {
		cancel()
		return nil, err
	}
	w.rev = rev
	return w, nil
}

type watcher struct {
	src    *source
	ctx    context.Context // canceled by Stop
	cancel context.CancelFunc
	ch     clientv3.WatchChan // nil until Next starts a watch, and after it failed
	rev    int64              // revision of the last read; a new watch starts after it
}

// Next waits for an event on the key or prefix, then reads the keys again,
// so that it always returns the complete configuration. Events that
// arrive together cause one read.
func (w *watcher) Next() ([]*config.KeyValue, error) {
	for {
		if w.ctx.Err() != nil {
			return nil, errStopped
		}
		if w.ch == nil {
			opts := []clientv3.OpOption{clientv3.WithRev(w.rev + 1)}
			if w.src.prefix {
				opts = append(opts, clientv3.WithPrefix())
			}
			w.ch = w.src.client.Watch(clientv3.WithRequireLeader(w.ctx), w.src.path, opts...)
		}
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-w.ctx.Done():
			return nil, errStopped
		case resp, ok = <-w.ch:
		}
		if !ok {
			w.ch = nil
			if w.ctx.Err() != nil {
				return nil, errStopped
			}
			return nil, fmt.Errorf("etcd: watch %s: closed", w.src.path)
		}
		if err := resp.Err(); err != nil {
			// The watch is over. After a compaction the missed events are
			// gone, so read the current state; otherwise report the error,
			// and the next call watches again from the last read.
			w.ch = nil
			if resp.CompactRevision == 0 {
				return nil, fmt.Errorf("etcd: watch %s: %w", w.src.path, err)
			}
		} else if len(resp.Events) == 0 {
			continue // a progress notification
		}
		kvs, rev, err := w.src.get(w.ctx)
		if err != nil {
			if w.ctx.Err() != nil {
				return nil, errStopped
			}
			return nil, err
		}
		w.rev = rev
		return kvs, nil
	}
}

// Stop cancels the watch, which makes Next return.
func (w *watcher) Stop() error {
	w.cancel()
	return nil
}
