package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/cli"
	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
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

// run runs the binary's Main and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestErrorMessages checks that each failure prints its error once, with
// one "zelos" prefix, and that a wrong command line prints the usage.
func TestErrorMessages(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(filepath.Join("taken", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		want  string // the first line of stderr
		usage string // in the usage that follows, or "" for none
	}{
		{"new without a name", []string{"new"}, "zelos new: missing <name>", "zelos new <name> [flags]"},
		{"new with two names", []string{"new", "a", "b"}, "zelos new: want one <name>, got 2 arguments: a b", "zelos new <name> [flags]"},
		{"new into a directory in use", []string{"new", "taken"}, "zelos new: taken exists and is not empty", ""},
		{"new with a bad name", []string{"new", "Bad"}, `zelos new: name "Bad": use lower-case letters, digits, - and _ (starting with a letter)`, ""},
		{"unknown flag", []string{"new", "--bogus", "x"}, "zelos new: unknown flag: --bogus", "--module"},
		{"unknown command", []string{"frob"}, `zelos: unknown command "frob" for "zelos"`, ""},
		{"proto client without files", []string{"proto", "client"}, "zelos proto client: missing <file|dir>", "zelos proto client <file|dir>... [flags]"},
		{"proto client of a missing file", []string{"proto", "client", "nope.proto"}, "zelos: compile: ", ""},
		{"proto include without a dir", []string{"proto", "include"}, "zelos proto include: missing <dir>", "zelos proto include <dir>"},
		{"proto add of a non-proto", []string{"proto", "add", "x.txt"}, "zelos proto add: x.txt: want a .proto path", ""},
		{"run outside a module", []string{"run"}, "zelos run: ", ""},
		{"version with an argument", []string{"version", "x"}, `zelos version: unknown command "x" for "zelos version"`, "zelos version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			first, rest, _ := strings.Cut(stderr, "\n")
			if !strings.HasPrefix(first, c.want) {
				t.Errorf("stderr starts %q, want %q", first, c.want)
			}
			if strings.Count(stderr, "zelos: ") > 1 || strings.Contains(stderr, "zelos: zelos") {
				t.Errorf("doubled prefix in %q", stderr)
			}
			if c.usage == "" && strings.Contains(rest, "Usage:") {
				t.Errorf("usage printed for a failure that is no usage error:\n%s", stderr)
			}
			if c.usage != "" && (!strings.Contains(rest, "Usage:") || !strings.Contains(rest, c.usage)) {
				t.Errorf("no usage with %q after the error:\n%s", c.usage, stderr)
			}
		})
	}
}

// TestMessage covers the prefix rule on its own.
func TestMessage(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{errors.New("zelos new: x"), "zelos new: x"},
		{errors.New("zelos: x"), "zelos: x"},
		{errors.New("compile: x"), "zelos: compile: x"},
		{&compile.Error{File: "a.proto", Line: 1, Column: 2, Msg: "bad"}, "a.proto:1:2: bad"},
	} {
		t.Run(c.want, func(t *testing.T) {
			if got := cli.Message(c.err); got != c.want {
				t.Errorf("Message = %q, want %q", got, c.want)
			}
		})
	}
}

// TestProtoInclude writes the built-in protos and compiles, with the real
// protoc, a proto importing them the way a scaffolded service does.
func TestProtoInclude(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := execute(t, "proto", "include", "third_party")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"google/api/annotations.proto", "google/api/http.proto", "google/api/field_behavior.proto", "zelos/errors/errors.proto"} {
		p := filepath.Join("third_party", filepath.FromSlash(name))
		if !strings.Contains(out, "wrote "+p+"\n") {
			t.Errorf("output does not name %s:\n%s", p, out)
		}
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if out, err := execute(t, "proto", "include", "third_party"); err != nil || out != "" {
		t.Errorf("second run (up to date): %q, %v; want no output", out, err)
	}

	protocBin, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc is not on PATH in CI: scripts/tools.sh should have installed protobuf-compiler")
		}
		t.Skip("protoc is not on PATH (apt-get install protobuf-compiler)")
	}
	proto := `syntax = "proto3";
package x.v1;
import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
import "zelos/errors/errors.proto";
option go_package = "example.com/x/v1;v1";
service X {
  rpc Get(Req) returns (Req) {
    option (google.api.http) = {get: "/v1/{id}"};
  }
}
message Req { string id = 1 [(google.api.field_behavior) = REQUIRED]; }
enum ErrorReason {
  option (zelos.errors.default_code) = 500;
  X_UNSPECIFIED = 0;
  NOT_FOUND = 1 [(zelos.errors.code) = 404];
}
`
	if err := os.WriteFile("x.proto", []byte(proto), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(protocBin, "-I", ".", "-I", "third_party", "--include_imports", "--descriptor_set_out=x.pb", "x.proto")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	b, err := os.ReadFile("x.pb")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"google/api/http.proto", "zelos/errors/errors.proto", "x.proto"} {
		if !bytes.Contains(b, []byte(name)) {
			t.Errorf("descriptor set lacks %s", name)
		}
	}
}

func TestProtoIncludeUnwritable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "google"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "proto", "include", dir)
	if code != 1 || !strings.HasPrefix(stderr, "zelos proto include: ") {
		t.Errorf("exit %d, stderr %q; want a zelos proto include error", code, stderr)
	}
}
