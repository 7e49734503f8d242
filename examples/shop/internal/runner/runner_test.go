package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/registryurl"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

const embedded = "registry: memory\nname: embedded\n"

func TestRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("registry: memory\nname: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantName string
		wantErr  string
	}{
		{"embedded", nil, "embedded", ""},
		{"file", []string{"-conf", file}, "from-file", ""},
		{"registry flag", []string{"-registry", "memory"}, "embedded", ""},
		{"bad registry", []string{"-registry", "zk://x"}, "", "unknown registry"},
		{"missing file", []string{"-conf", filepath.Join(dir, "nope.yaml")}, "", "conf: "},
		{"bad flag", []string{"-nope"}, "", "not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var gotName string
			err := Run(context.Background(), "svc", []byte(embedded), tc.args, &out,
				func(ctx context.Context, reg registryurl.Registry, c config.Config, logger log.Logger) (*zelos.App, func(), error) {
					if _, ok := reg.(*registry.InMemory); !ok {
						t.Errorf("registry %T, want the in-memory one", reg)
					}
					gotName, _ = c.Value("name").String()
					_ = logger.Log(log.LevelInfo, "msg", "built")
					return nil, nil, errors.New("stop here")
				})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err == nil || err.Error() != "stop here" {
				t.Fatalf("err = %v, want the NewApp's", err)
			}
			if gotName != tc.wantName {
				t.Fatalf("config name = %q, want %q", gotName, tc.wantName)
			}
			if !strings.Contains(out.String(), "service=svc") || !strings.Contains(out.String(), "msg=built") {
				t.Fatalf("logs %q lack service=svc", out.String())
			}
		})
	}
}

func TestRunApp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cleaned := false
	err := Run(ctx, "svc", []byte(embedded), nil, &bytes.Buffer{},
		func(ctx context.Context, reg registryurl.Registry, c config.Config, logger log.Logger) (*zelos.App, func(), error) {
			cancel() // the App stops as soon as it runs
			return zelos.New(zelos.Context(ctx), zelos.Name("svc"), zelos.Logger(logger)), func() { cleaned = true }, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if !cleaned {
		t.Fatal("the cleanup did not run")
	}
}
