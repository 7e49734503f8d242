package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type bootstrap struct {
	Server Server `json:"server"`
	Data   Data   `json:"data"`
}

const sample = `
server:
  name: x.service
  http:
    addr: ${CONF_TEST_HTTP_ADDR:0.0.0.0:8001}
  drain_delay: 5s
data:
  dir: ${CONF_TEST_DATA_DIR:./data}
  database:
    driver: sqlite
    dsn: ""
`

func TestLoadEmbedded(t *testing.T) {
	t.Setenv("CONF_TEST_HTTP_ADDR", "127.0.0.1:1234")
	c, err := Load([]byte(sample), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var bc bootstrap
	if err := Scan(c, &bc); err != nil {
		t.Fatal(err)
	}
	if bc.Server.HTTP.Addr != "127.0.0.1:1234" || bc.Data.Dir != "./data" || bc.Server.Name != "x.service" {
		t.Fatalf("scanned %+v", bc)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("server:\n  name: from.file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]byte(sample), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var bc bootstrap
	if err := Scan(c, &bc); err != nil {
		t.Fatal(err)
	}
	if bc.Server.Name != "from.file" {
		t.Fatalf("name = %q", bc.Server.Name)
	}
}

func TestErrors(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(nil, filepath.Join(t.TempDir(), "nope.yaml"), nil)
		if err == nil || !strings.HasPrefix(err.Error(), "conf: ") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad embedded yaml", func(t *testing.T) {
		_, err := Load([]byte("server: [1"), "", nil)
		if err == nil || !strings.Contains(err.Error(), "embedded") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		c, err := Load([]byte("server:\n  adress: x\n"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var bc bootstrap
		if err := Scan(c, &bc); err == nil || !strings.HasPrefix(err.Error(), "conf: ") {
			t.Fatalf("err = %v, want a strict-scan error", err)
		}
	})
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{{"", 0, false}, {"5s", 5 * time.Second, false}, {"5", 0, true}, {"-1s", 0, true}} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := Duration("k", tc.in)
			if (err != nil) != tc.err || d != tc.want {
				t.Fatalf("Duration(%q) = %v, %v", tc.in, d, err)
			}
		})
	}
}

func TestBytesWatchStops(t *testing.T) {
	w, err := Bytes("a: 1").Watch()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := w.Next(); done <- err }()
	_ = w.Stop()
	if err := <-done; err == nil {
		t.Fatal("Next after Stop returned no error")
	}
}
