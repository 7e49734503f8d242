package compile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
)

// TestCompile compiles a proto importing one from a second import path and
// the built-in ones, and checks the request: dependencies first, names
// relative to the import paths, roots and paths on disk.
func TestCompile(t *testing.T) {
	dir := gentest.Files(t, map[string]string{
		"api/x/v1/x.proto":      "syntax = \"proto3\";\npackage x.v1;\nimport \"common/c.proto\";\nimport \"google/api/annotations.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage X { common.C c = 1; google.protobuf.Timestamp t = 2; }\n",
		"shared/common/c.proto": "syntax = \"proto3\";\npackage common;\nmessage C {}\n",
	})
	x := filepath.Join(dir, "api", "x", "v1", "x.proto")
	res, err := compile.Compile(context.Background(), compile.Input{
		Files:       []string{x, x}, // a duplicate is compiled once
		ImportPaths: []string{filepath.Join(dir, "api"), filepath.Join(dir, "shared"), filepath.Join(dir, "api")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Request.FileToGenerate, " "); got != "x/v1/x.proto" {
		t.Errorf("FileToGenerate = %s", got)
	}
	var names []string
	for _, f := range res.Request.ProtoFile {
		names = append(names, f.GetName())
	}
	if last := names[len(names)-1]; last != "x/v1/x.proto" {
		t.Errorf("x/v1/x.proto is not last (after its dependencies): %v", names)
	}
	for _, want := range []string{"common/c.proto", "google/api/annotations.proto", "google/api/http.proto", "google/protobuf/descriptor.proto", "google/protobuf/timestamp.proto"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("request lacks %s: %v", want, names)
		}
	}
	if res.Roots["x/v1/x.proto"] != filepath.Join(dir, "api") {
		t.Errorf("Roots = %v", res.Roots)
	}
	if res.Paths["common/c.proto"] != filepath.Join(dir, "shared", "common", "c.proto") {
		t.Errorf("Paths = %v", res.Paths)
	}
	if _, ok := res.Paths["google/api/annotations.proto"]; ok {
		t.Error("a built-in proto has a path on disk")
	}
	if res.Request.GetSourceFileDescriptors() != nil || res.Request.ProtoFile[len(names)-1].GetSourceCodeInfo() == nil {
		t.Error("the file to generate has no source info")
	}
}

func TestCompileErrors(t *testing.T) {
	dir := gentest.Files(t, map[string]string{
		"bad.proto":    "syntax = \"proto3\";\npackage b;\nmessage B {\n  string name = ;\n}\n",
		"import.proto": "syntax = \"proto3\";\npackage i;\nimport \"bad.proto\";\n",
	})
	t.Chdir(dir)
	cases := []struct {
		name  string
		in    compile.Input
		want  string
		posed bool // a *compile.Error with a position
	}{
		{"no files", compile.Input{}, `^compile: no proto files given$`, false},
		{"missing file", compile.Input{Files: []string{"nope.proto"}, ImportPaths: []string{"."}}, `^compile: nope\.proto: .*no such file`, false},
		{"outside the import paths", compile.Input{Files: []string{"bad.proto"}, ImportPaths: []string{t.TempDir()}}, `^compile: bad\.proto is not under any import path .*; add one with -I$`, false},
		{"syntax error", compile.Input{Files: []string{"bad.proto"}, ImportPaths: []string{"."}}, `^bad\.proto:4:17: syntax error`, true},
		{"syntax error in an import", compile.Input{Files: []string{"import.proto"}, ImportPaths: []string{"."}}, `^bad\.proto:4:17: `, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := compile.Compile(context.Background(), c.in)
			if err == nil || !regexp.MustCompile(c.want).MatchString(err.Error()) {
				t.Fatalf("err = %v, want %s", err, c.want)
			}
			var ce *compile.Error
			if errors.As(err, &ce) != c.posed {
				t.Errorf("err is a %T; want a *compile.Error: %v", err, c.posed)
			}
		})
	}
}

func TestFindProtos(t *testing.T) {
	dir := gentest.Files(t, map[string]string{
		"api/a/v1/a.proto":             "",
		"api/b.proto":                  "",
		"api/third_party/google.proto": "",
		"api/vendor/v.proto":           "",
		"api/.hidden/h.proto":          "",
		"api/node_modules/n.proto":     "",
		"api/readme.md":                "",
		"empty/x.txt":                  "",
	})
	got, err := compile.FindProtos(filepath.Join(dir, "api"), filepath.Join(dir, "api", "b.proto"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "api", "a", "v1", "a.proto"), filepath.Join(dir, "api", "b.proto")}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("FindProtos = %v, want %v (third_party, vendor, hidden and node_modules skipped; no duplicates)", got, want)
	}
	if _, err := compile.FindProtos(filepath.Join(dir, "empty")); err == nil || !strings.Contains(err.Error(), "compile: no .proto files in") {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := compile.FindProtos(filepath.Join(dir, "nope")); err == nil || !strings.HasPrefix(err.Error(), "compile: ") {
		t.Errorf("missing path: %v", err)
	}
}

func TestDisplayPath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got := compile.DisplayPath(filepath.Join(wd, "api", "x.proto")); got != filepath.Join("api", "x.proto") {
		t.Errorf("below the working directory: %s", got)
	}
	other := filepath.Join(filepath.Dir(wd), "elsewhere", "x.proto")
	if got := compile.DisplayPath(other); got != other {
		t.Errorf("outside the working directory: %s", got)
	}
}

func TestError(t *testing.T) {
	e := &compile.Error{File: "a.proto", Line: 3, Column: 7, Msg: "bad"}
	if e.Error() != "a.proto:3:7: bad" {
		t.Errorf("Error() = %q", e)
	}
}
