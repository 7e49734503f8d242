package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/configtest"
	"github.com/zelos-go/zelos/config/file"
)

// TestContract runs the config contract against a directory of two files.
func TestContract(t *testing.T) {
	dir := t.TempDir()
	configtest.Run(t, configtest.Harness{
		Keys: []string{"a.yaml", "b.json"},
		New:  func(*testing.T) config.Source { return file.NewSource(dir) },
		Put: func(t *testing.T, key string, data []byte) {
			// Write and rename, so that the watcher never reads half a file.
			tmp := filepath.Join(dir, "."+key+".tmp")
			if err := os.WriteFile(tmp, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, key)); err != nil {
				t.Fatal(err)
			}
		},
		Delete: func(t *testing.T, key string) {
			if err := os.Remove(filepath.Join(dir, key)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		},
	})
}
