package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replace writes content to a temporary file and renames it over path.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "App.YAML")
	write(t, path, "a: 1\n")
	kvs, err := NewSource(path).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != 1 || kvs[0].Key != path || kvs[0].Format != "yaml" || string(kvs[0].Value) != "a: 1\n" {
		t.Fatalf("got %+v", kvs)
	}
	_, err = NewSource(path + ".missing").Load()
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.json"), `{"b": 1}`)
	write(t, filepath.Join(dir, "a.yml"), "a: 1")
	write(t, filepath.Join(dir, "c.toml"), "c = 1")     // unsupported
	write(t, filepath.Join(dir, ".d.yaml.swp"), "junk") // hidden
	write(t, filepath.Join(dir, "README"), "text")      // no extension
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b.json", filepath.Join(dir, "e.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("gone.yaml", filepath.Join(dir, "f.yaml")); err != nil {
		t.Fatal(err)
	}
	kvs, err := NewSource(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, kv := range kvs {
		got = append(got, filepath.Base(kv.Key)+":"+kv.Format)
	}
	if fmt.Sprint(got) != "[a.yml:yml b.json:json e.json:json]" {
		t.Errorf("got %v", got)
	}
}

func watch(t *testing.T, s config.Source) config.Watcher {
	t.Helper()
	w, err := s.Watch()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop() })
	return w
}

type result struct {
	kvs []*config.KeyValue
	err error
}

// next calls w.Next in a goroutine and waits generously for the result.
func next(t *testing.T, w config.Watcher) result {
	t.Helper()
	ch := make(chan result, 1)
	go func() {
		kvs, err := w.Next()
		ch <- result{kvs, err}
	}()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		w.Stop()
		<-ch
		t.Fatal("Next did not return")
		return result{}
	}
}

func content(t *testing.T, r result) string {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	s := ""
	for _, kv := range r.kvs {
		s += string(kv.Value)
	}
	return s
}

func TestWatchRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	write(t, path, "v: 0")
	w := watch(t, NewSource(path))
	for i := 1; i <= 3; i++ {
		want := fmt.Sprintf("v: %d", i)
		replace(t, path, want)
		if got := content(t, next(t, w)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// Writing in place works too.
	write(t, path, "v: 4")
	if got := content(t, next(t, w)); got != "v: 4" {
		t.Fatalf("got %q", got)
	}
}

func TestWatchIgnoresUnrelatedChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	write(t, path, "v: 0")
	w := watch(t, NewSource(path))
	write(t, filepath.Join(dir, "other.yaml"), "x: 1") // same directory, other file
	write(t, path, "v: 1")
	if got := content(t, next(t, w)); got != "v: 1" {
		t.Fatalf("got %q", got)
	}
}

func TestWatchDebounce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	write(t, path, "v: 0")
	s := NewSource(path).(*source)
	s.debounce = 300 * time.Millisecond // wide, so a loaded machine cannot split the burst
	w := watch(t, s)
	for i := 1; i <= 30; i++ {
		replace(t, path, fmt.Sprintf("v: %d", i))
	}
	if got := content(t, next(t, w)); got != "v: 30" {
		t.Fatalf("first change after a burst = %q, want the last write", got)
	}
}

func TestWatchDir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), "a: 1\n")
	w := watch(t, NewSource(dir))
	write(t, filepath.Join(dir, "b.json"), `{"b": 2}`)
	if got := content(t, next(t, w)); got != "a: 1\n{\"b\": 2}" {
		t.Fatalf("got %q", got)
	}
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	if got := content(t, next(t, w)); got != `{"b": 2}` {
		t.Fatalf("got %q", got)
	}
}

// TestWatchConfigMapSwap replays how the kubelet updates a ConfigMap
// volume: the file is a symlink through "..data", which is atomically
// re-pointed at a new timestamped directory.
func TestWatchConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, text string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name, "app.yaml"), text)
		if err := os.Symlink(name, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("..v1", "v: 1")
	if err := os.Symlink("..data/app.yaml", filepath.Join(dir, "app.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "app.yaml"), dir} {
		kvs, err := NewSource(path).Load()
		if err != nil || len(kvs) != 1 || string(kvs[0].Value) != "v: 1" {
			t.Fatalf("Load(%s) = %v, %v", path, kvs, err)
		}
	}
	fileW := watch(t, NewSource(filepath.Join(dir, "app.yaml")))
	dirW := watch(t, NewSource(dir))
	version("..v2", "v: 2")
	if err := os.RemoveAll(filepath.Join(dir, "..v1")); err != nil {
		t.Fatal(err)
	}
	for _, w := range []config.Watcher{fileW, dirW} {
		if got := content(t, next(t, w)); got != "v: 2" {
			t.Fatalf("got %q", got)
		}
	}
}

func TestWatchRemovedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	write(t, path, "v: 0")
	w := watch(t, NewSource(path))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if r := next(t, w); !errors.Is(r.err, os.ErrNotExist) {
		t.Fatalf("after remove: %v, %v", r.kvs, r.err)
	}
	write(t, path, "v: 1")
	if got := content(t, next(t, w)); got != "v: 1" {
		t.Fatalf("got %q", got)
	}
}

func TestStopUnblocksNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.yaml")
	write(t, path, "v: 0")
	w, err := NewSource(path).Watch()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.Next()
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // usually let Next block first; either order must work
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, errStopped) {
			t.Errorf("Next after Stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next still blocked after Stop")
	}
	if err := w.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestWatchMissing(t *testing.T) {
	if _, err := NewSource(filepath.Join(t.TempDir(), "nope", "app.yaml")).Watch(); err == nil {
		t.Error("Watch of a missing path succeeded")
	}
}

// TestWatchRecreatedDir removes the watched directory and makes it again,
// as a deploy that replaces a config directory does. The inotify watch dies
// with the old directory, so the watcher must watch the new one.
func TestWatchRecreatedDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(dir string) string // the path given to NewSource
		slow bool                    // recreate only after Next reported the removal
	}{
		{"dir", func(dir string) string { return dir }, true},
		{"file", func(dir string) string { return filepath.Join(dir, "app.yaml") }, true},
		{"dir at once", func(dir string) string { return dir }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "conf")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "app.yaml")
			write(t, file, "v: 0")
			s := NewSource(tc.path(dir)).(*source)
			s.poll = 20 * time.Millisecond
			w := watch(t, s)
			for i := 1; i <= 2; i++ {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if tc.slow {
					if r := next(t, w); !errors.Is(r.err, os.ErrNotExist) {
						t.Fatalf("after removing the directory: %v, %v", r.kvs, r.err)
					}
				}
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("v: %d", i)
				write(t, file, want)
				if got := content(t, next(t, w)); got != want {
					t.Fatalf("after recreating the directory: %q, want %q", got, want)
				}
				// Later changes are seen too: the new directory is watched.
				want += "0"
				replace(t, file, want)
				if got := content(t, next(t, w)); got != want {
					t.Fatalf("after changing the recreated file: %q, want %q", got, want)
				}
			}
		})
	}
}
