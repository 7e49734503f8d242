package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/log"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// record is one call to recorder.Log.
type record struct {
	level log.Level
	text  string
}

// recorder is a log.Logger keeping every record.
type recorder struct {
	mu      sync.Mutex
	records []record
}

func (r *recorder) Log(level log.Level, keyvals ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, record{level, fmt.Sprint(keyvals...)})
	return nil
}

// find returns the first record at level containing all of subs.
func (r *recorder) find(level log.Level, subs ...string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for _, rec := range r.records {
		if rec.level != level {
			continue
		}
		for _, s := range subs {
			if !strings.Contains(rec.text, s) {
				continue next
			}
		}
		return rec.text, true
	}
	return "", false
}

// eventually polls cond for up to 10s (generous for a loaded machine).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes content to a temporary file beside path and renames it
// over path, as editors and atomic writers do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
