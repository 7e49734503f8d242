package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/log"
)

// TestConfigTypoIsAnError: a mistyped key used to be ignored, so
// "adress: 0.0.0.0:8001" started the server on a random port. The config is
// scanned strictly, so the typo stops the start with the nearest key.
func TestConfigTypoIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"typo", "server:\n  http:\n    adress: 0.0.0.0:8001\n", `config: unknown key "server.http.adress" (did you mean "addr"?)`},
		{"good", "server:\n  http:\n    addr: 0.0.0.0:8001\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			bc, closeConf, err := loadConfig(path, log.NewStdLogger(os.Stderr))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer closeConf()
				if bc.Server.HTTP.Addr != "0.0.0.0:8001" {
					t.Errorf("addr = %q", bc.Server.HTTP.Addr)
				}
				return
			}
			if err == nil {
				closeConf()
				t.Fatal("loadConfig accepted the typo")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
