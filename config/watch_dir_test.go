package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/file"
	"github.com/zelos-go/zelos/log"
)

// TestReloadAfterDirRecreated: replacing the whole config directory (rm -rf,
// then a new one) used to end the watch silently, and later edits were
// never loaded. The failed read is logged, the last good config kept, and
// the new directory's contents load once it appears.
func TestReloadAfterDirRecreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "app.yaml"), "v: 1\n")
	logs := &recorder{}
	c := load(t, config.WithSource(file.NewSource(dir)), config.WithLogger(logs))
	for v := int64(2); v <= 3; v++ {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the failed read logged", func() bool {
			_, ok := logs.find(log.LevelError, dir+" does not exist")
			return ok
		})
		if got, _ := c.Value("v").Int(); got != v-1 {
			t.Errorf("v = %d with the directory gone, want the last good %d", got, v-1)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "app.yaml"), "v: "+string(rune('0'+v))+"\n")
		eventually(t, "the recreated directory loaded", func() bool { got, _ := c.Value("v").Int(); return got == v })
		logs.mu.Lock()
		logs.records = nil
		logs.mu.Unlock()
	}
}
