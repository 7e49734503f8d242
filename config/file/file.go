// Package file provides a config.Source that reads a configuration file, or
// every configuration file in a directory, and watches it for changes.
//
// Supported formats, by extension: .yaml, .yml and .json. TOML is not
// supported (it would add a dependency). Hidden files (".name") and
// subdirectories of a directory are skipped, as are files with other
// extensions; a single file is passed on whatever its extension, so a
// custom config.Decoder may handle it.
package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/zelos-go/zelos/config"
)

const (
	defaultDebounce = 50 * time.Millisecond
	defaultPoll     = 500 * time.Millisecond // how often a removed directory is looked for
	maxDelay        = time.Second            // longest a stream of events can postpone a reload
)

var errStopped = errors.New("file: watcher stopped")

type source struct {
	path     string
	debounce time.Duration
	poll     time.Duration // how often a removed directory is looked for
}

// NewSource returns a Source reading path, a file or a directory. Each file
// becomes one config.KeyValue with its path as Key and its lower-case
// extension (without the dot) as Format; a directory's files are returned in
// name order, so later names override earlier ones.
//
// Watch watches the directory holding the file (or the directory itself),
// so that atomic replacements (write a temporary file, then rename it over
// the old one) and Kubernetes ConfigMap symlink swaps are seen. Bursts of
// events are coalesced: the files are re-read once no event has arrived for
// 50ms, and a change is reported only when their contents differ.
//
// When the watched directory itself is removed or renamed, the watcher
// reports the failed read, looks for the directory again every 500ms, and
// watches the new one once it exists, reporting its contents.
func NewSource(path string) config.Source {
	return &source{path: path, debounce: defaultDebounce, poll: defaultPoll}
}

// String names the source in errors and logs.
func (s *source) String() string {
	return "file " + s.path
}

// notExistError reports a missing file or directory by its path alone: the
// "stat" of *fs.PathError means nothing to someone who mistyped a path.
type notExistError struct{ path string }

func (e *notExistError) Error() string { return "file: " + e.path + " does not exist" }
func (e *notExistError) Unwrap() error { return fs.ErrNotExist }

// stat is os.Stat with a missing path reported as a notExistError.
func stat(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &notExistError{path}
	case err != nil:
		return nil, fmt.Errorf("file: %w", err)
	}
	return fi, nil
}

func (s *source) Load() ([]*config.KeyValue, error) {
	fi, err := stat(s.path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		kv, err := read(s.path)
		if err != nil {
			return nil, err
		}
		return []*config.KeyValue{kv}, nil
	}
	entries, err := os.ReadDir(s.path)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	var kvs []*config.KeyValue
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !supported(format(name)) {
			continue
		}
		p := filepath.Join(s.path, name)
		fi, err := os.Stat(p) // follows symlinks, as in a ConfigMap volume
		if errors.Is(err, os.ErrNotExist) {
			continue // dangling symlink, or removed since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		kv, err := read(p)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, kv)
	}
	return kvs, nil
}

func read(path string) (*config.KeyValue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	return &config.KeyValue{Key: path, Value: data, Format: format(path)}, nil
}

func format(name string) string {
	return strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))
}

func supported(format string) bool {
	switch format {
	case "yaml", "yml", "json":
		return true
	}
	return false
}

func (s *source) Watch() (config.Watcher, error) {
	fi, err := stat(s.path)
	if err != nil {
		return nil, err
	}
	dir := s.path
	if !fi.IsDir() {
		dir = filepath.Dir(s.path)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("file: watch %s: %w", dir, err)
	}
	if err := fw.Add(dir); err != nil {
		_ = fw.Close()
		return nil, fmt.Errorf("file: watch %s: %w", dir, err)
	}
	last, _ := s.Load() // baseline; a failed read just means any content is new
	return &watcher{src: s, dir: filepath.Clean(dir), fw: fw, last: last}, nil
}

type watcher struct {
	src  *source
	dir  string // cleaned, as fsnotify stores it
	fw   *fsnotify.Watcher
	last []*config.KeyValue // contents last reported; used only by Next
}

// Next waits for a burst of events in the watched directory to settle,
// re-reads the files and returns them if they changed.
func (w *watcher) Next() ([]*config.KeyValue, error) {
	for {
		if err := w.settle(); err != nil {
			return nil, err
		}
		kvs, err := w.src.Load()
		if err != nil {
			return nil, err
		}
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

// settle blocks until an event arrives and then until no event has arrived
// for the debounce interval (or maxDelay has passed since the first).
func (w *watcher) settle() error {
	var (
		timer    *time.Timer
		fire     <-chan time.Time
		deadline time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// changed starts or extends the debounce window.
	changed := func() {
		if timer == nil {
			deadline = time.Now().Add(maxDelay)
			timer = time.NewTimer(w.src.debounce)
			fire = timer.C
			return
		}
		timer.Reset(max(0, min(w.src.debounce, time.Until(deadline))))
	}
	if !slices.Contains(w.fw.WatchList(), w.dir) {
		// The directory was removed or renamed, and inotify dropped its
		// watch with it: watch the new directory once there is one, and
		// re-read it, since changes made before then raised no event.
		if err := w.rearm(); err != nil {
			return err
		}
		changed()
	}
	for {
		select {
		case ev, ok := <-w.fw.Events:
			if !ok {
				return errStopped
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			changed()
		case err, ok := <-w.fw.Errors:
			if !ok {
				return errStopped
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were dropped: re-read as if they had arrived.
				changed()
				continue
			}
			return fmt.Errorf("file: watch %s: %w", w.dir, err)
		case <-fire:
			return nil
		}
	}
}

// rearm waits until the directory exists again and watches it. It returns
// errStopped if Stop is called meanwhile.
func (w *watcher) rearm() error {
	tick := time.NewTicker(w.src.poll)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(w.dir); err == nil && fi.IsDir() && w.fw.Add(w.dir) == nil {
			return nil
		}
		select {
		case _, ok := <-w.fw.Events: // events of the old directory, if any
			if !ok {
				return errStopped
			}
		case _, ok := <-w.fw.Errors:
			if !ok {
				return errStopped
			}
		case <-tick.C:
		}
	}
}

// Stop closes the fsnotify watcher, which makes Next return.
func (w *watcher) Stop() error {
	return w.fw.Close()
}
