package main

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

// TestPlugin runs the plugin as protoc does and compares its output with
// the CLI's golden files.
func TestPlugin(t *testing.T) {
	resp := gentest.RunMain(t, main, gentest.Request(t, []string{"api", "bookstore"}))
	if n := gentest.Golden(t, resp, "default", "_errors.pb.go"); n != 2 || len(resp.File) != 2 {
		t.Errorf("compared %d of %d files, want 2", n, len(resp.File))
	}
	if resp.GetSupportedFeatures() == 0 {
		t.Error("no supported features declared")
	}
}

func TestVersion(t *testing.T) {
	out := gentest.RunMainRaw(t, main, nil, "/x/protoc-gen-go-errors", "--version")
	if got := string(out); got != "protoc-gen-go-errors "+version.Version+"\n" {
		t.Errorf("--version: %q", got)
	}
}

// TestBadCode checks that a generator error reaches protoc in the
// response, not as a crash.
func TestBadCode(t *testing.T) {
	req := gentest.Request(t, []string{"api"})
	for _, fd := range req.ProtoFile {
		if fd.GetName() != "api/user/v1/user.proto" {
			continue
		}
		for _, e := range fd.EnumType {
			// (zelos.errors.default_code) = 1, after the proto's own value.
			b := protowire.AppendTag(e.Options.ProtoReflect().GetUnknown(), 11080, protowire.VarintType)
			e.Options.ProtoReflect().SetUnknown(protowire.AppendVarint(b, 1))
		}
	}
	resp := gentest.RunMain(t, main, req)
	if !strings.Contains(resp.GetError(), "is not an HTTP status code") {
		t.Errorf("error %q, want a bad-code error", resp.GetError())
	}
}
