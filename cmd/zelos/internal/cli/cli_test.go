package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/cli"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := cli.Execute(context.Background(), args, strings.NewReader(""), &out, &out)
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := execute(t, "version")
	if err != nil || out != "zelos "+version.Version+"\n" {
		t.Fatalf("version: %q, %v", out, err)
	}
}

func TestProtoClient(t *testing.T) {
	dir := t.TempDir()
	proto := "syntax = \"proto3\";\npackage x.v1;\nimport \"google/api/annotations.proto\";\noption go_package = \"example.com/x/v1;v1\";\n" +
		"service X {\n  rpc Get(Req) returns (Req) {\n    option (google.api.http) = {get: \"/v1/{id}\"};\n  }\n}\nmessage Req { string id = 1; }\n"
	if err := os.WriteFile(filepath.Join(dir, "x.proto"), []byte(proto), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	out, err := execute(t, "proto", "client", "x.proto", "--no-openapi")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^3 files \(3 changed\) in `).MatchString(out) {
		t.Errorf("output:\n%s", out)
	}
	if _, err := os.Stat("x.openapi.yaml"); err == nil {
		t.Error("--no-openapi wrote x.openapi.yaml")
	}
	out, err = execute(t, "proto", "client", "-q", "--http-default-routes", "-I", ".", ".")
	if err != nil || out != "" {
		t.Errorf("-q: %q, %v", out, err)
	}
}

func TestProtoClientErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("bad.proto", []byte("syntax = \"proto3\";\nmessage {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := execute(t, "proto", "client", "bad.proto")
	if err == nil || !strings.HasPrefix(err.Error(), "bad.proto:2:9: ") {
		t.Errorf("err = %v, want bad.proto:2:9: ...", err)
	}
	if _, err := execute(t, "proto", "client"); err == nil {
		t.Error("no arguments: no error")
	}
	if _, err := execute(t, "proto", "client", "missing.proto"); err == nil {
		t.Error("missing file: no error")
	}
}
