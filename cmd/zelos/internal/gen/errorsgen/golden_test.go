package errorsgen_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/errorsgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
)

// TestGolden generates the _errors.pb.go files of the test protos and
// compares them with the golden files; protos without error enums get
// none.
func TestGolden(t *testing.T) {
	gen := gentest.Plugin(t, "api", "bookstore")
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		g, err := errorsgen.GenerateFile(gen, f)
		if err != nil {
			t.Fatal(err)
		}
		want := f.Desc.Path() == "api/user/v1/user.proto" || f.Desc.Path() == "bookstore/v1/bookstore.proto"
		if (g != nil) != want {
			t.Errorf("%s: generated %v, want %v", f.Desc.Path(), g != nil, want)
		}
	}
	if n := gentest.Golden(t, gen.Response(), "default", "_errors.pb.go"); n != 2 {
		t.Errorf("compared %d files, want 2", n)
	}
}

// TestBadCodes checks that codes outside 100-599 are reported at the enum
// or value that sets them.
func TestBadCodes(t *testing.T) {
	for _, c := range []struct{ name, enum, want string }{
		{"default code", "enum E {\n  option (zelos.errors.default_code) = 42;\n  A = 0;\n}\n", `^x\.proto:4:1: enum x\.v1\.E: default_code: 42 is not an HTTP status code \(100-599\)$`},
		{"value code", "enum E {\n  option (zelos.errors.default_code) = 500;\n  A = 0;\n  B = 1 [(zelos.errors.code) = 600];\n}\n", `^x\.proto:7:3: enum value x\.v1\.B: code: 600 is not an HTTP status code`},
		{"nested enum", "message M {\n  enum E {\n    option (zelos.errors.default_code) = 99;\n    A = 0;\n  }\n}\n", `^x\.proto:5:3: enum x\.v1\.M\.E: default_code: 99`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "syntax = \"proto3\";\npackage x.v1;\nimport \"zelos/errors/errors.proto\";\n" + c.enum
			if err := os.WriteFile(filepath.Join(dir, "x.proto"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := compile.Compile(context.Background(), compile.Input{Files: []string{filepath.Join(dir, "x.proto")}, ImportPaths: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			res.Request.Parameter = proto.String("Mx.proto=example.com/x/v1")
			gen, err := protogen.Options{}.New(res.Request)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range gen.Files {
				if !f.Generate {
					continue
				}
				_, err := errorsgen.GenerateFile(gen, f)
				var ee *errorsgen.Error
				if err == nil || !regexp.MustCompile(c.want).MatchString(err.Error()) || !errors.As(err, &ee) {
					t.Errorf("err = %v, want %s", err, c.want)
				}
			}
		})
	}
}
