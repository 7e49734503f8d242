package httpgen_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/httpgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
)

// TestGolden generates the _http.pb.go files of the test protos, with and
// without default routes, and compares them with the golden files.
func TestGolden(t *testing.T) {
	for _, c := range []struct {
		dir  string
		opts httpgen.Options
		want int
	}{
		{"default", httpgen.Options{}, 3},                           // user, order, bookstore; chat has no rule
		{"default_routes", httpgen.Options{DefaultRoutes: true}, 1}, // the golden copies kept: bookstore
	} {
		t.Run(c.dir, func(t *testing.T) {
			dirs := []string{"api", "bookstore"}
			if c.opts.DefaultRoutes {
				dirs = []string{"bookstore"}
			}
			gen := gentest.Plugin(t, dirs...)
			if err := httpgen.Check(gen, c.opts); err != nil {
				t.Fatal(err)
			}
			for _, f := range gen.Files {
				if !f.Generate {
					continue
				}
				g, err := httpgen.GenerateFile(gen, f, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				if (g == nil) != (f.Desc.Path() == "api/chat/v1/chat.proto") {
					t.Errorf("%s: generated %v", f.Desc.Path(), g != nil)
				}
			}
			if n := gentest.Golden(t, gen.Response(), c.dir, "_http.pb.go"); n != c.want {
				t.Errorf("compared %d files, want %d", n, c.want)
			}
		})
	}
}

func TestParseParam(t *testing.T) {
	var o httpgen.Options
	if ok, err := o.ParseParam("default_routes", "true"); !ok || err != nil || !o.DefaultRoutes {
		t.Errorf("default_routes=true: %v, %v, %+v", ok, err, o)
	}
	if ok, err := o.ParseParam("default_routes", "maybe"); !ok || err == nil || !strings.Contains(err.Error(), `default_routes="maybe": want true or false`) {
		t.Errorf("default_routes=maybe: %v, %v", ok, err)
	}
	if ok, err := o.ParseParam("other", "x"); ok || err != nil {
		t.Errorf("other: %v, %v; want not ours", ok, err)
	}
}

// TestCheck checks that a collision across two files is reported, and a
// bad rule in a file, before anything is generated.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	const head = "syntax = \"proto3\";\nimport \"google/api/annotations.proto\";\n"
	files := map[string]string{
		"a.proto":   head + "package a;\noption go_package = \"example.com/a;a\";\nmessage M { string id = 1; }\nservice A {\n  rpc Get(M) returns (M) { option (google.api.http) = {get: \"/v1/{id}\"}; }\n}\n",
		"b.proto":   head + "package b;\noption go_package = \"example.com/b;b\";\nmessage M { string name = 1; }\nservice B {\n  rpc Get(M) returns (M) { option (google.api.http) = {get: \"/v1/{name}\"}; }\n}\n",
		"bad.proto": head + "package c;\noption go_package = \"example.com/c;c\";\nmessage M { string name = 1; }\nservice C {\n  rpc Get(M) returns (M) { option (google.api.http) = {get: \"/v1/{nope}\"}; }\n}\n",
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plugin := func(names ...string) *protogen.Plugin {
		var paths []string
		for _, n := range names {
			paths = append(paths, filepath.Join(dir, n))
		}
		res, err := compile.Compile(context.Background(), compile.Input{Files: paths, ImportPaths: []string{dir}})
		if err != nil {
			t.Fatal(err)
		}
		gen, err := protogen.Options{}.New(res.Request)
		if err != nil {
			t.Fatal(err)
		}
		return gen
	}
	if err := httpgen.Check(plugin("a.proto", "b.proto"), httpgen.Options{}); err == nil || !strings.Contains(err.Error(), "route GET /v1/{name} of b.B.Get collides with GET /v1/{id} of a.A.Get") {
		t.Errorf("err = %v, want a collision across files", err)
	}
	gen := plugin("bad.proto")
	if err := httpgen.Check(gen, httpgen.Options{}); err == nil || !strings.Contains(err.Error(), `no field "nope"`) {
		t.Errorf("Check: err = %v, want the bad rule", err)
	}
	for _, f := range gen.Files {
		if f.Generate {
			if _, err := httpgen.GenerateFile(gen, f, httpgen.Options{}); err == nil {
				t.Error("GenerateFile: no error for the bad rule")
			}
		}
	}
}

// TestStreamOnlyServiceImportsNoContext: a service whose only route is a
// server stream generates no method taking a context, so the file must not
// import context (it would not compile).
func TestStreamOnlyServiceImportsNoContext(t *testing.T) {
	dir := t.TempDir()
	src := "syntax = \"proto3\";\nimport \"google/api/annotations.proto\";\npackage s;\noption go_package = \"example.com/s;s\";\n" +
		"message M { string room = 1; }\nservice S {\n  rpc Watch(M) returns (stream M) { option (google.api.http) = {get: \"/v1/watch\"}; }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "s.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := compile.Compile(context.Background(), compile.Input{Files: []string{filepath.Join(dir, "s.proto")}, ImportPaths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := protogen.Options{}.New(res.Request)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		if _, err := httpgen.GenerateFile(gen, f, httpgen.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range gen.Response().File {
		if strings.Contains(f.GetContent(), `"context"`) {
			t.Fatalf("%s imports context but uses none:\n%s", f.GetName(), f.GetContent())
		}
	}
}
