// Package configtest is the contract every config.Source is tested
// against, written once and run by each backend's tests:
//
//	func TestContract(t *testing.T) {
//		dir := t.TempDir()
//		configtest.Run(t, configtest.Harness{
//			Keys: []string{"a.yaml", "b.yaml"},
//			New:  func(t *testing.T) config.Source { return file.NewSource(dir) },
//			Put: func(t *testing.T, key string, data []byte) {
//				os.WriteFile(filepath.Join(dir, key), data, 0o600)
//			},
//			Delete: func(t *testing.T, key string) { os.Remove(filepath.Join(dir, key)) },
//		})
//	}
//
// A backend stores payloads under keys (files, etcd keys, ConfigMap data
// entries, Apollo namespaces, a Nacos data ID). The Harness says how to
// write and delete them, which keys the suite may use, how a payload is
// encoded and where its fields appear in the merged configuration, so that
// backends whose key names are fixed can run the suite too.
//
// The contract, checked through config.New, Load and Watch as a user sees
// it, one subtest each:
//
//   - "load": Source.Load returns what was stored; every key's fields are
//     readable after Config.Load.
//   - "change": a payload replaced after Load reaches the Observer of its
//     field within Harness.Timeout, and the other keys keep their values.
//   - "next": Watcher.Next returns the complete new configuration (every
//     key, not only the one that changed), in the shape Load returns, and a
//     change made between Watch and Next is not lost.
//   - "add" (Delete set, two keys or more): a key created while watching
//     appears.
//   - "delete" (Delete set): a key deleted while watching disappears, and
//     the other keys stay.
//   - "bad": a payload that does not decode is reported (the Config logs
//     an error, from the Watcher or the Decoder) and the last good
//     configuration stays; the next good payload is applied.
//   - "stop": Watcher.Stop unblocks a pending Next, which returns an
//     error, and a later Next returns an error too.
//   - "close": after Config.Close no goroutine started by Load or Watch is
//     left (checked with goleak), and later changes call no Observer.
//
// A subtest can be skipped with Harness.Skip, giving the reason.
package configtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/log"
)

// Harness adapts a backend to the suite. New, Put and Keys are required.
type Harness struct {
	// New returns a Source over the backend. Run calls it once per
	// subtest, after writing the subtest's first payloads. Goroutines
	// running when New returns (a client's connections) are not counted
	// as leaks; goroutines that Load or Watch start are.
	New func(t *testing.T) config.Source
	// Put creates or replaces the payload stored under key, failing t on
	// error.
	Put func(t *testing.T, key string, data []byte)
	// Delete removes key; deleting a missing key is not an error. Nil
	// when the backend cannot delete a key: "add" and "delete" are
	// skipped.
	Delete func(t *testing.T, key string)
	// Keys names the keys the suite writes, at least one. Run resets them
	// at the start of each subtest (Put, or Delete for keys that must not
	// exist yet). With two keys or more the suite also checks that keys do
	// not disturb each other and that a key can be added.
	Keys []string
	// Marshal encodes the flat fields (name to string value) as the
	// payload stored under key. The default writes a JSON object, which
	// is valid YAML as well.
	Marshal func(key string, fields map[string]string) []byte
	// Bad is a payload under Keys[0] that the Source or the Decoder
	// rejects. The default, an unterminated JSON object, is invalid JSON
	// and invalid YAML.
	Bad []byte
	// Path returns the dotted configuration key at which field of the
	// payload stored under key appears after merging. The default is
	// field itself (payloads merge at the root).
	Path func(key, field string) string
	// Timeout bounds each wait for a change to be seen. Zero, the
	// default, means 10s, generous for a loaded machine running -race.
	Timeout time.Duration
	// LeakOptions are passed to goleak by "stop" and "close", e.g.
	// goleak.IgnoreTopFunction for a pool the client starts lazily.
	LeakOptions []goleak.Option
	// Skip maps subtest names ("bad", "delete", ...) to the reason the
	// backend cannot run them.
	Skip map[string]string
}

// Run runs the contract's subtests against h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Put == nil || len(h.Keys) == 0 {
		t.Fatal("configtest: Harness needs New, Put and at least one key")
	}
	s := &suite{h: h}
	if s.h.Marshal == nil {
		s.h.Marshal = marshalJSON
	}
	if s.h.Bad == nil {
		s.h.Bad = []byte(`{"unterminated": [`)
	}
	if s.h.Path == nil {
		s.h.Path = func(_, field string) string { return field }
	}
	if s.h.Timeout <= 0 {
		s.h.Timeout = 10 * time.Second
	}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"load", s.load},
		{"change", s.change},
		{"next", s.next},
		{"add", s.add},
		{"delete", s.delete},
		{"bad", s.bad},
		{"stop", s.stop},
		{"close", s.close},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := s.h.Skip[tc.name]; ok {
				t.Skip(why)
			}
			tc.run(t)
		})
	}
}

func marshalJSON(_ string, fields map[string]string) []byte {
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return b
}

type suite struct{ h Harness }

// field is the field name the suite writes in the payload of Keys[i]:
// distinct per key, so that payloads merged at the root do not collide.
func field(i int) string { return fmt.Sprintf("f%d", i) }

// put stores the payload of Keys[i] with its field set to v.
func (s *suite) put(t *testing.T, i int, v string) {
	t.Helper()
	key := s.h.Keys[i]
	s.h.Put(t, key, s.h.Marshal(key, map[string]string{field(i): v}))
}

// path is where the field of Keys[i] appears in the configuration.
func (s *suite) path(i int) string { return s.h.Path(s.h.Keys[i], field(i)) }

// reset writes every key's first payload, "v1-<i>".
func (s *suite) reset(t *testing.T) {
	t.Helper()
	for i := range s.h.Keys {
		s.put(t, i, fmt.Sprintf("v1-%d", i))
	}
}

// open loads a Config over a new Source and closes it when t ends.
func (s *suite) open(t *testing.T) (config.Config, *logger) {
	t.Helper()
	l := &logger{t: t, errs: make(chan string, 64)}
	c := config.New(config.WithSource(s.h.New(t)), config.WithLogger(l))
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Load(); err != nil {
		t.Fatalf("Config.Load: %v", err)
	}
	return c, l
}

// observe registers an Observer of path and returns the channel of the
// values it sees: the string, or "<absent>" when the key disappeared.
func observe(t *testing.T, c config.Config, path string) <-chan string {
	t.Helper()
	ch := make(chan string, 64)
	err := c.Watch(path, func(_ string, v config.Value) {
		s := absent
		if v.Load() != nil {
			s, _ = v.String()
		}
		select {
		case ch <- s:
		default: // the test reads only the latest values it waits for
		}
	})
	if err != nil {
		t.Fatalf("Config.Watch(%q): %v", path, err)
	}
	return ch
}

const absent = "<absent>"

// await waits for the Observer to see want.
func (s *suite) await(t *testing.T, ch <-chan string, path, want string) {
	t.Helper()
	timer := time.NewTimer(s.h.Timeout)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
			seen = append(seen, got)
		case <-timer.C:
			t.Fatalf("%q: Observer did not see %q within %v (saw %q)", path, want, s.h.Timeout, seen)
		}
	}
}

// expect checks the current value at path.
func expect(t *testing.T, c config.Config, path, want string) {
	t.Helper()
	v := c.Value(path)
	got := absent
	if v.Load() != nil {
		got, _ = v.String()
	}
	if got != want {
		t.Errorf("Value(%q) = %q, want %q", path, got, want)
	}
}

func (s *suite) load(t *testing.T) {
	s.reset(t)
	kvs, err := s.h.New(t).Load()
	if err != nil {
		t.Fatalf("Source.Load: %v", err)
	}
	if len(kvs) == 0 {
		t.Fatal("Source.Load returned no KeyValues")
	}
	c, _ := s.open(t)
	for i := range s.h.Keys {
		expect(t, c, s.path(i), fmt.Sprintf("v1-%d", i))
	}
}

func (s *suite) change(t *testing.T) {
	s.reset(t)
	c, _ := s.open(t)
	ch := observe(t, c, s.path(0))
	start := time.Now()
	s.put(t, 0, "v2-0")
	s.await(t, ch, s.path(0), "v2-0")
	t.Logf("change seen by the Observer %v after Put was called", time.Since(start))
	expect(t, c, s.path(0), "v2-0")
	for i := 1; i < len(s.h.Keys); i++ {
		expect(t, c, s.path(i), fmt.Sprintf("v1-%d", i))
	}
}

// static is a Source returning fixed KeyValues, used to decode what a
// Watcher returned exactly as Config would.
type static []*config.KeyValue

func (s static) Load() ([]*config.KeyValue, error) { return s, nil }
func (static) Watch() (config.Watcher, error)      { return nil, nil }

func (s *suite) next(t *testing.T) {
	s.reset(t)
	src := s.h.New(t)
	w, err := src.Watch()
	if err != nil {
		t.Fatalf("Source.Watch: %v", err)
	}
	if w == nil {
		t.Fatal("Source.Watch returned a nil Watcher")
	}
	defer func() { _ = w.Stop() }()
	// The change lands before Next is called: a Watcher must not lose it.
	s.put(t, 0, "v2-0")
	type result struct {
		kvs []*config.KeyValue
		err error
	}
	res := make(chan result, 1)
	timer := time.NewTimer(s.h.Timeout)
	defer timer.Stop()
	for {
		go func() {
			kvs, err := w.Next()
			res <- result{kvs, err}
		}()
		var r result
		select {
		case r = <-res:
		case <-timer.C:
			t.Fatalf("Watcher.Next did not return the change within %v", s.h.Timeout)
		}
		if r.err != nil {
			t.Fatalf("Watcher.Next: %v", r.err)
		}
		c := config.New(config.WithSource(static(r.kvs)))
		if err := c.Load(); err != nil {
			t.Fatalf("decoding what Next returned: %v", err)
		}
		if got, _ := c.Value(s.path(0)).String(); got != "v2-0" {
			// A Watcher may report the state it started from first.
			continue
		}
		for i := 1; i < len(s.h.Keys); i++ {
			expect(t, c, s.path(i), fmt.Sprintf("v1-%d", i))
		}
		return
	}
}

func (s *suite) add(t *testing.T) {
	if s.h.Delete == nil || len(s.h.Keys) < 2 {
		t.Skip("needs Delete and two keys")
	}
	s.reset(t)
	last := len(s.h.Keys) - 1
	s.h.Delete(t, s.h.Keys[last])
	c, _ := s.open(t)
	expect(t, c, s.path(last), absent)
	ch := observe(t, c, s.path(last))
	s.put(t, last, "v2")
	s.await(t, ch, s.path(last), "v2")
	expect(t, c, s.path(0), "v1-0")
}

func (s *suite) delete(t *testing.T) {
	if s.h.Delete == nil {
		t.Skip("needs Delete")
	}
	s.reset(t)
	c, _ := s.open(t)
	last := len(s.h.Keys) - 1
	ch := observe(t, c, s.path(last))
	s.h.Delete(t, s.h.Keys[last])
	s.await(t, ch, s.path(last), absent)
	for i := range last {
		expect(t, c, s.path(i), fmt.Sprintf("v1-%d", i))
	}
}

func (s *suite) bad(t *testing.T) {
	s.reset(t)
	c, l := s.open(t)
	ch := observe(t, c, s.path(0))
	s.h.Put(t, s.h.Keys[0], s.h.Bad)
	select {
	case <-l.errs:
	case <-time.After(s.h.Timeout):
		t.Fatalf("a bad payload was not reported within %v", s.h.Timeout)
	}
	expect(t, c, s.path(0), "v1-0")
	s.put(t, 0, "v3-0")
	s.await(t, ch, s.path(0), "v3-0")
}

func (s *suite) stop(t *testing.T) {
	s.reset(t)
	src := s.h.New(t)
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, s.h.LeakOptions...)
	w, err := src.Watch()
	if err != nil {
		t.Fatalf("Source.Watch: %v", err)
	}
	if w == nil {
		t.Fatal("Source.Watch returned a nil Watcher")
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.Next()
		done <- err
	}()
	// Give Next time to block; a Next that returns the starting state
	// instead is fine, Stop must still make the next one fail.
	time.Sleep(50 * time.Millisecond)
	if err := w.Stop(); err != nil {
		t.Errorf("Watcher.Stop: %v", err)
	}
	select {
	case <-done:
	case <-time.After(s.h.Timeout):
		t.Fatalf("Watcher.Next did not return within %v of Stop", s.h.Timeout)
	}
	after := make(chan error, 1)
	go func() {
		_, err := w.Next()
		after <- err
	}()
	select {
	case err := <-after:
		if err == nil {
			t.Error("Watcher.Next after Stop returned no error")
		}
	case <-time.After(s.h.Timeout):
		t.Fatalf("Watcher.Next after Stop did not return within %v", s.h.Timeout)
	}
	if err := s.leaks(opts); err != nil {
		t.Errorf("goroutines left after Watcher.Stop: %v", err)
	}
}

func (s *suite) close(t *testing.T) {
	s.reset(t)
	l := &logger{t: t, errs: make(chan string, 64)}
	src := s.h.New(t)
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, s.h.LeakOptions...)
	c := config.New(config.WithSource(src), config.WithLogger(l))
	if err := c.Load(); err != nil {
		t.Fatalf("Config.Load: %v", err)
	}
	var mu sync.Mutex
	var calls []string
	if err := c.Watch(s.path(0), func(_ string, v config.Value) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, fmt.Sprint(v.Load()))
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Config.Close: %v", err)
	}
	if err := s.leaks(opts); err != nil {
		t.Errorf("goroutines left after Config.Close: %v", err)
	}
	s.put(t, 0, "v2-0")
	// No wait can prove that nothing happens; the goroutines are gone,
	// so nothing is left to call the Observer, and this only double-checks.
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) > 0 {
		t.Errorf("Observer called after Close: %q", calls)
	}
	expect(t, c, s.path(0), "v1-0")
}

// leaks looks for goroutines outside opts until none is left or Timeout
// has passed: clients tear streams down asynchronously (etcd's gRPC watch
// stream ends a moment after its last watcher), which is slow, not a leak.
func (s *suite) leaks(opts []goleak.Option) error {
	deadline := time.Now().Add(s.h.Timeout)
	for {
		err := goleak.Find(opts...) // itself retries for about a second
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// logger forwards the Config's log lines to t and signals errors.
type logger struct {
	t    *testing.T
	mu   sync.Mutex
	errs chan string
}

func (l *logger) Log(level log.Level, keyvals ...any) error {
	var b bytes.Buffer
	fmt.Fprint(&b, level)
	for i := 0; i+1 < len(keyvals); i += 2 {
		fmt.Fprintf(&b, " %v=%v", keyvals[i], keyvals[i+1])
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(b.String())
	if level >= log.LevelError {
		select {
		case l.errs <- b.String():
		default:
		}
	}
	return nil
}
