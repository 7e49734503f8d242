package consul_test

// This file is an in-process fake of the parts of Consul's HTTP API that
// the config source uses, written from Consul's KV and blocking-query
// documentation:
//
//   - GET /v1/kv/:key (?recurse for every key under a prefix, ?dc): a JSON
//     array of {Key, Value (base64), Flags, LockIndex, CreateIndex,
//     ModifyIndex}, or 404 with an empty body when nothing matches.
//   - Blocking queries: ?index=N&wait=D holds a GET until the index of what
//     it reads passes N or D elapses (capped at 10m, default 5m); every
//     answer, 404 included, carries X-Consul-Index.
//   - PUT /v1/kv/:key stores the body and answers true; DELETE /v1/kv/:key
//     (?recurse) removes keys.
//
// It is not Consul: one datacenter ("dc1"), no ACLs, sessions, CAS or
// jitter on the wait. The index of a read is the highest ModifyIndex of the
// keys it reads and of the keys deleted under it (Consul's tombstones), or
// the store's index when there are none. restore replaces the store with a
// lower index and wakes blocked queries, as a snapshot restore does.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

type fakeEntry struct {
	Key         string
	Value       []byte // base64 in JSON, as Consul sends it
	Flags       uint64
	LockIndex   uint64
	CreateIndex uint64
	ModifyIndex uint64
}

type fakeConsul struct {
	srv *httptest.Server

	mu         sync.Mutex
	index      uint64
	kv         map[string]*fakeEntry
	tombstones map[string]uint64 // deleted key -> index of the delete
	changed    chan struct{}     // closed and replaced on every change
	abandon    chan struct{}     // closed and replaced by restore

	failing atomic.Bool   // answer reads with 500, as without a leader
	gets    atomic.Int64  // GET requests so far
	waits   sync.Map      // wait parameters seen, as strings
	closing chan struct{} // closed by close; releases blocked queries
	closed  sync.Once
}

// newFakeConsul starts a fake that is closed when t ends.
func newFakeConsul(t *testing.T) *fakeConsul {
	t.Helper()
	f := startFake()
	t.Cleanup(f.close)
	return f
}

// startFake starts a fake; the caller closes it.
func startFake() *fakeConsul {
	f := &fakeConsul{
		index:      10,
		kv:         map[string]*fakeEntry{},
		tombstones: map[string]uint64{},
		changed:    make(chan struct{}),
		abandon:    make(chan struct{}),
		closing:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/kv/{key...}", f.get)
	mux.HandleFunc("PUT /v1/kv/{key...}", f.put)
	mux.HandleFunc("DELETE /v1/kv/{key...}", f.delete)
	f.srv = httptest.NewServer(mux)
	return f
}

func (f *fakeConsul) close() {
	f.closed.Do(func() { close(f.closing) })
	f.srv.Close()
}

func (f *fakeConsul) client(t *testing.T) *api.Client {
	t.Helper()
	// A transport of its own, closed with the test, so that its idle
	// connections are not reported as leaked goroutines.
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := api.NewClient(&api.Config{Address: f.srv.URL, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bump records a change: a new index, and blocked queries wake. f.mu must
// be held.
func (f *fakeConsul) bump() uint64 {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
	return f.index
}

// set stores a key directly, as a PUT would.
func (f *fakeConsul) set(key string, value []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.bump()
	e, ok := f.kv[key]
	if !ok {
		e = &fakeEntry{Key: key, CreateIndex: i}
		f.kv[key] = e
	}
	e.Value, e.ModifyIndex = value, i
	delete(f.tombstones, key)
}

// remove deletes key, or every key under it with recurse.
func (f *fakeConsul) remove(key string, recurse bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.bump()
	for k := range f.kv {
		if k == key || recurse && strings.HasPrefix(k, key) {
			delete(f.kv, k)
			f.tombstones[k] = i
		}
	}
}

// restore replaces the store with kv at a lower index than before and
// releases blocked queries, as restoring a snapshot does.
func (f *fakeConsul) restore(index uint64, kv map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = index
	f.kv = map[string]*fakeEntry{}
	f.tombstones = map[string]uint64{}
	for k, v := range kv {
		f.kv[k] = &fakeEntry{Key: k, Value: []byte(v), CreateIndex: index, ModifyIndex: index}
	}
	close(f.abandon)
	f.abandon = make(chan struct{})
}

// read returns copies of the entries a GET of key reads, to encode after
// f.mu is released, and their index. f.mu must be held.
func (f *fakeConsul) read(key string, recurse bool) ([]fakeEntry, uint64) {
	var out []fakeEntry
	var index uint64
	for k, e := range f.kv {
		if k == key || recurse && strings.HasPrefix(k, key) {
			out = append(out, *e)
			index = max(index, e.ModifyIndex)
		}
	}
	for k, i := range f.tombstones {
		if k == key || recurse && strings.HasPrefix(k, key) {
			index = max(index, i)
		}
	}
	if index == 0 {
		index = f.index
	}
	slices.SortFunc(out, func(a, b fakeEntry) int { return strings.Compare(a.Key, b.Key) })
	return out, index
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, format, args...)
}

func (f *fakeConsul) get(w http.ResponseWriter, r *http.Request) {
	f.gets.Add(1)
	q := r.URL.Query()
	if f.failing.Load() {
		httpError(w, http.StatusInternalServerError, "rpc error making call: No cluster leader")
		return
	}
	if dc := q.Get("dc"); dc != "" && dc != "dc1" {
		httpError(w, http.StatusInternalServerError, "No path to datacenter")
		return
	}
	var after uint64
	if s := q.Get("index"); s != "" {
		var err error
		if after, err = strconv.ParseUint(s, 10, 64); err != nil {
			httpError(w, http.StatusBadRequest, "Invalid index: %q", s)
			return
		}
	}
	wait := 5 * time.Minute
	if s := q.Get("wait"); s != "" {
		f.waits.Store(s, true)
		d, err := time.ParseDuration(s)
		if err != nil {
			httpError(w, http.StatusBadRequest, "Invalid wait time: %q", s)
			return
		}
		wait = min(d, 10*time.Minute)
	}
	key := r.PathValue("key")
	_, recurse := q["recurse"]

	timer := time.NewTimer(wait)
	defer timer.Stop()
	f.mu.Lock()
	entries, index := f.read(key, recurse)
	for after > 0 && index <= after {
		changed, abandon := f.changed, f.abandon
		f.mu.Unlock()
		done := false
		select {
		case <-changed:
		case <-abandon:
			done = true
		case <-timer.C:
			done = true
		case <-r.Context().Done():
			done = true
		case <-f.closing:
			done = true
		}
		f.mu.Lock()
		entries, index = f.read(key, recurse)
		if done {
			break
		}
	}
	f.mu.Unlock()

	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(index, 10))
	h.Set("X-Consul-KnownLeader", "true")
	h.Set("X-Consul-LastContact", "0")
	if len(entries) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	h.Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(entries)
}

func (f *fakeConsul) put(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	f.set(r.PathValue("key"), body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "true")
}

func (f *fakeConsul) delete(w http.ResponseWriter, r *http.Request) {
	_, recurse := r.URL.Query()["recurse"]
	f.remove(r.PathValue("key"), recurse)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "true")
}
