package protoc_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protos"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testProtos are the test protos, relative to testdata.
var testProtos = []string{"api", "bookstore"}

func generate(t *testing.T, opts protoc.Options, targets ...string) []protoc.Output {
	t.Helper()
	opts.ImportPaths = append([]string{"testdata"}, opts.ImportPaths...)
	var paths []string
	for _, p := range targets {
		paths = append(paths, filepath.Join("testdata", p))
	}
	out, err := protoc.Generate(context.Background(), paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden compares the output of every generator for the test protos
// (the tutorial's order.proto importing user.proto, a bookstore with every
// kind of HTTP rule and RPC, error enums) with testdata/golden. Run with
// -update to rewrite them.
func TestGolden(t *testing.T) {
	start := time.Now()
	out := generate(t, protoc.Options{}, testProtos...)
	t.Logf("generated %d files in %v", len(out), time.Since(start))
	withDefaults := generate(t, protoc.Options{DefaultRoutes: true}, "bookstore")

	check := func(dir string, outs []protoc.Output) {
		for _, o := range outs {
			golden := filepath.Join("testdata", "golden", dir, filepath.FromSlash(o.Name))
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, o.Content, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Errorf("%s: %v (run go test -update)", o.Name, err)
				continue
			}
			if !bytes.Equal(o.Content, want) {
				t.Errorf("%s differs from %s (run go test -update and review the diff)", o.Name, golden)
			}
		}
	}
	check("default", out)
	// The default-routes option only changes the HTTP routes and the
	// OpenAPI document; the other outputs must equal the default ones.
	byName := map[string][]byte{}
	for _, o := range out {
		byName[o.Name] = o.Content
	}
	var changed []protoc.Output
	for _, o := range withDefaults {
		if strings.HasSuffix(o.Name, "_http.pb.go") || strings.HasSuffix(o.Name, ".openapi.yaml") {
			changed = append(changed, o)
		} else if !bytes.Equal(o.Content, byName[o.Name]) {
			t.Errorf("%s: default routes changed a file they should not touch", o.Name)
		}
	}
	check("default_routes", changed)

	want := map[string]bool{}
	for _, o := range out {
		want[o.Name] = true
	}
	for _, name := range []string{
		"api/user/v1/user.pb.go", "api/user/v1/user_grpc.pb.go", "api/user/v1/user_http.pb.go",
		"api/user/v1/user_errors.pb.go", "api/user/v1/user.openapi.yaml",
		"api/order/v1/order.pb.go", "api/order/v1/order_grpc.pb.go", "api/order/v1/order_http.pb.go",
		"api/chat/v1/chat.pb.go", "api/chat/v1/chat_grpc.pb.go",
		"bookstore/v1/bookstore.pb.go", "bookstore/v1/bookstore_grpc.pb.go", "bookstore/v1/bookstore_http.pb.go",
		"bookstore/v1/bookstore_errors.pb.go", "bookstore/v1/bookstore.openapi.yaml",
	} {
		if !want[name] {
			t.Errorf("%s was not generated", name)
		}
	}
	for _, name := range []string{"api/chat/v1/chat_http.pb.go", "api/order/v1/order_errors.pb.go", "api/chat/v1/chat.openapi.yaml"} {
		if want[name] {
			t.Errorf("%s was generated, but has nothing in it", name)
		}
	}
}

// TestDefaultRoutes checks that only --http-default-routes gives the RPC
// without a rule a route, and never a client-streaming one.
func TestDefaultRoutes(t *testing.T) {
	find := func(outs []protoc.Output) string {
		for _, o := range outs {
			if o.Name == "bookstore/v1/bookstore_http.pb.go" {
				return string(o.Content)
			}
		}
		t.Fatal("no bookstore_http.pb.go")
		return ""
	}
	plain := find(generate(t, protoc.Options{}, "bookstore"))
	def := find(generate(t, protoc.Options{DefaultRoutes: true}, "bookstore"))
	route := `http.Unary(r, "POST", "/bookstore.v1.Bookstore/Ping", OperationBookstorePing, srv.Ping)`
	if strings.Contains(plain, "Ping") {
		t.Error("Ping has a route without default routes")
	}
	if !strings.Contains(def, route) {
		t.Errorf("default routes: no %s", route)
	}
	for _, m := range []string{"ImportBooks", "Chat"} {
		if strings.Contains(def, "srv."+m) {
			t.Errorf("default routes: streaming-client method %s has a route", m)
		}
	}
}

// writeProtos writes files (name -> content) under a new directory.
func writeProtos(t *testing.T, files map[string]string) string {
	t.Helper()
	return gentest.Files(t, files)
}

const header = `syntax = "proto3";
package bad.v1;
import "google/api/annotations.proto";
option go_package = "example.com/bad/v1;v1";
message Req { string name = 1; Inner inner = 2; }
message Inner { string id = 1; }
message Rep {}
`

// TestBadInput checks that each kind of bad input fails with its
// position in the proto.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name, proto string
		want        string // regexp of the error
	}{
		{
			name:  "syntax error",
			proto: "syntax = \"proto3\";\npackage bad.v1;\nmessage Req {\n  string name = ;\n}\n",
			want:  `^bad\.proto:4:17: syntax error`,
		},
		{
			name:  "unknown import",
			proto: "syntax = \"proto3\";\npackage bad.v1;\nimport \"nowhere/missing.proto\";\n",
			want:  `^bad\.proto:3:8: .*nowhere/missing\.proto`,
		},
		{
			name: "unknown field in path",
			proto: header + `service S {
  rpc Get(Req) returns (Rep) {
    option (google.api.http) = {get: "/v1/{nmae}"};
  }
}
`,
			want: `^bad\.proto:10:5: method bad\.v1\.S\.Get: path "/v1/\{nmae\}": variable \{nmae\}: no field "nmae" in bad\.v1\.Req`,
		},
		{
			name: "unknown nested field in path",
			proto: header + `service S {
  rpc Get(Req) returns (Rep) {
    option (google.api.http) = {get: "/v1/{inner.nope}"};
  }
}
`,
			want: `^bad\.proto:10:5: .*no field "nope" in bad\.v1\.Inner`,
		},
		{
			name: "unknown body field",
			proto: header + `service S {
  rpc Post(Req) returns (Rep) {
    option (google.api.http) = {post: "/v1/x" body: "nobody"};
  }
}
`,
			want: `^bad\.proto:10:5: method bad\.v1\.S\.Post: body "nobody": no field "nobody" in bad\.v1\.Req`,
		},
		{
			name: "route collision",
			proto: header + `service S {
  rpc A(Req) returns (Rep) {
    option (google.api.http) = {get: "/v1/things/{name}"};
  }
  rpc B(Req) returns (Rep) {
    option (google.api.http) = {get: "/v1/things/{inner.id}"};
  }
}
`,
			want: `^bad\.proto:13:5: route GET /v1/things/\{inner\.id\} of bad\.v1\.S\.B collides with GET /v1/things/\{name\} of bad\.v1\.S\.A \(bad\.proto:10:5\)`,
		},
		{
			name: "rule on a client-streaming method",
			proto: header + `service S {
  rpc Up(stream Req) returns (Rep) {
    option (google.api.http) = {post: "/v1/up" body: "*"};
  }
}
`,
			want: `^bad\.proto:10:5: method bad\.v1\.S\.Up is client- or bidi-streaming and cannot have an HTTP rule`,
		},
		{
			name: "message in path",
			proto: header + `service S {
  rpc Get(Req) returns (Rep) {
    option (google.api.http) = {get: "/v1/{inner}"};
  }
}
`,
			want: `^bad\.proto:10:5: .*variable \{inner\}: field bad\.v1\.Req\.inner is not a scalar`,
		},
		{
			name: "bad template",
			proto: header + `service S {
  rpc Get(Req) returns (Rep) {
    option (google.api.http) = {get: "v1/{name}"};
  }
}
`,
			want: `^bad\.proto:10:5: method bad\.v1\.S\.Get: path "v1/\{name\}": template must start with "/" \(at byte 0\)`,
		},
		{
			name: "unknown response_body",
			proto: header + `service S {
  rpc Get(Req) returns (Rep) {
    option (google.api.http) = {get: "/v1/x" response_body: "nope"};
  }
}
`,
			want: `^bad\.proto:10:5: .*response_body "nope": no field "nope" in bad\.v1\.Rep`,
		},
		{
			name: "route shape collision",
			proto: header + `service S {
  rpc A(Req) returns (Rep) {
    option (google.api.http) = {delete: "/v1/{name=things/*}"};
  }
  rpc B(Req) returns (Rep) {
    option (google.api.http) = {
      get: "/v1/x"
      additional_bindings {delete: "/v1/things/{inner.id}"}
    };
  }
}
`,
			want: `^bad\.proto:13:5: route DELETE /v1/things/\{inner\.id\} of bad\.v1\.S\.B collides with DELETE /v1/\{name=things/\*\} of bad\.v1\.S\.A`,
		},
		{
			name: "body in a oneof",
			proto: header + `service S {
  rpc Post(OneofReq) returns (Rep) {
    option (google.api.http) = {post: "/v1/x" body: "a"};
  }
}
message OneofReq { oneof k { Inner a = 1; string b = 2; } }
`,
			want: `^bad\.proto:10:5: method bad\.v1\.S\.Post: body "a": field bad\.v1\.OneofReq\.a is in oneof k`,
		},
		{
			name: "response_body in a oneof",
			proto: header + `service S {
  rpc Get(Req) returns (OneofRep) {
    option (google.api.http) = {get: "/v1/x" response_body: "a"};
  }
}
message OneofRep { oneof k { Inner a = 1; string b = 2; } }
`,
			want: `^bad\.proto:10:5: method bad\.v1\.S\.Get: response_body "a": field bad\.v1\.OneofRep\.a is in oneof k`,
		},
		{
			name: "bad error code",
			proto: `syntax = "proto3";
package bad.v1;
import "zelos/errors/errors.proto";
option go_package = "example.com/bad/v1;v1";
enum E {
  option (zelos.errors.default_code) = 42;
  A = 0;
}
`,
			want: `^bad\.proto:5:1: enum bad\.v1\.E: default_code: 42 is not an HTTP status code`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeProtos(t, map[string]string{"bad.proto": c.proto})
			t.Chdir(dir)
			_, err := protoc.Client(context.Background(), []string{"bad.proto"}, protoc.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if !regexp.MustCompile(c.want).MatchString(err.Error()) {
				t.Fatalf("error %q does not match %q", err, c.want)
			}
			var ce *compile.Error
			if !errors.As(err, &ce) {
				t.Errorf("error is a %T, want *compile.Error", err)
			}
			if matches, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(matches) > 0 {
				t.Errorf("files written despite the error: %v", matches)
			}
		})
	}
}

// TestImportPaths compiles a proto importing another through -I, with the
// file to generate given as a directory, and without go_package (taken
// from the enclosing module).
func TestImportPaths(t *testing.T) {
	dir := writeProtos(t, map[string]string{
		"go.mod":                    "module example.com/app\n",
		"shared/proto/common.proto": "syntax = \"proto3\";\npackage common;\noption go_package = \"example.com/app/common;common\";\nmessage Money { int64 cents = 1; }\n",
		"api/pay/v1/pay.proto":      "syntax = \"proto3\";\npackage pay.v1;\nimport \"common.proto\";\nmessage Charge { common.Money amount = 1; }\n",
	})
	t.Chdir(dir)
	ws, err := protoc.Client(context.Background(), []string{"api"}, protoc.Options{ImportPaths: []string{"shared/proto"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Path != filepath.Join(dir, "api/pay/v1/pay.pb.go") {
		t.Fatalf("wrote %v", ws)
	}
	b, err := os.ReadFile(ws[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"package v1\n", `common "example.com/app/common"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("pay.pb.go lacks %q", want)
		}
	}
	// A second run finds everything up to date.
	ws, err = protoc.Client(context.Background(), []string{"api"}, protoc.Options{ImportPaths: []string{"shared/proto"}})
	if err != nil || len(ws) != 1 || ws[0].Changed {
		t.Fatalf("second run: %v, %v", ws, err)
	}
}

// TestErrorsProtoUpToDate checks that errors/errors.pb.go of the framework
// is what the CLI generates from errors/errors.proto, and that the CLI's
// embedded copy of errors.proto is the framework's.
func TestErrorsProtoUpToDate(t *testing.T) {
	src, err := os.ReadFile("../../../../errors/errors.proto")
	if err != nil {
		t.Skipf("no framework checkout: %v", err)
	}
	embedded, err := protos.FS.ReadFile("zelos/errors/errors.proto")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, embedded) {
		t.Error("internal/protos/zelos/errors/errors.proto differs from errors/errors.proto: copy it")
	}
	dir := writeProtos(t, map[string]string{"zelos/errors/errors.proto": string(src)})
	t.Chdir(dir)
	out, err := protoc.Generate(context.Background(), []string{"zelos"}, protoc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("generated %d files, want errors.pb.go only", len(out))
	}
	have, err := os.ReadFile(filepath.Join(origWD, "../../../../errors/errors.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[0].Content, have) {
		t.Error("errors/errors.pb.go is stale: regenerate it with zelos proto client (see cmd/zelos/README.md)")
	}
}

var origWD, _ = os.Getwd()

// TestProtocPlugins runs the real protoc with protoc-gen-go-http and
// protoc-gen-go-errors and checks their output is byte-identical to the
// CLI's.
func TestProtocPlugins(t *testing.T) {
	protocBin, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc is not on PATH in CI: scripts/tools.sh should have installed protobuf-compiler")
		}
		t.Skip("protoc is not on PATH (apt-get install protobuf-compiler); skipping the plugin comparison")
	}
	if testing.Short() {
		t.Skip("builds the plugins")
	}
	bin := t.TempDir()
	for _, p := range []string{"protoc-gen-go-http", "protoc-gen-go-errors"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, p), "../../"+p)
		if outb, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, outb)
		}
	}
	// protoc needs the protos the CLI has built in on disk.
	include := t.TempDir()
	for _, name := range []string{"google/api/annotations.proto", "google/api/http.proto", "google/api/field_behavior.proto", "zelos/errors/errors.proto"} {
		b, err := protos.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(include, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := compile.FindProtos(filepath.Join("testdata", "api"), filepath.Join("testdata", "bookstore"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(outDir string, extra ...string) {
		args := []string{"-I", "testdata", "-I", include}
		if _, err := os.Stat("/usr/include/google/protobuf/descriptor.proto"); err == nil {
			args = append(args, "-I", "/usr/include")
		}
		args = append(args,
			"--plugin=protoc-gen-go-http="+filepath.Join(bin, "protoc-gen-go-http"),
			"--plugin=protoc-gen-go-errors="+filepath.Join(bin, "protoc-gen-go-errors"),
			"--go-http_out="+strings.Join(append([]string{"paths=source_relative"}, extra...), ",")+":"+outDir,
			"--go-errors_out=paths=source_relative:"+outDir,
		)
		for _, f := range files {
			rel, _ := filepath.Rel("testdata", f)
			args = append(args, filepath.ToSlash(rel))
		}
		cmd := exec.Command(protocBin, args...)
		if outb, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("protoc %s: %v\n%s", strings.Join(args, " "), err, outb)
		}
	}
	for _, def := range []bool{false, true} {
		outDir := t.TempDir()
		var extra []string
		if def {
			extra = append(extra, "default_routes=true")
		}
		run(outDir, extra...)
		cli := generate(t, protoc.Options{DefaultRoutes: def}, testProtos...)
		compared := 0
		for _, o := range cli {
			if !strings.HasSuffix(o.Name, "_http.pb.go") && !strings.HasSuffix(o.Name, "_errors.pb.go") {
				continue
			}
			got, err := os.ReadFile(filepath.Join(outDir, filepath.FromSlash(o.Name)))
			if err != nil {
				t.Errorf("protoc did not generate %s: %v", o.Name, err)
				continue
			}
			compared++
			if !bytes.Equal(got, o.Content) {
				t.Errorf("default_routes=%v: %s from protoc differs from the CLI's", def, o.Name)
			}
		}
		if compared < 5 {
			t.Errorf("compared %d files, want 5", compared)
		}
	}
}

// TestFindProtos covers the file and directory forms.
func TestFindProtos(t *testing.T) {
	got, err := compile.FindProtos("testdata/api/user/v1/user.proto", "testdata/api")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("got %v, want the 3 protos under testdata/api", got)
	}
	if _, err := compile.FindProtos(t.TempDir()); err == nil {
		t.Error("no error for a directory without protos")
	}
	if _, err := compile.FindProtos("testdata/nope"); err == nil {
		t.Error("no error for a missing path")
	}
}

// repoRoot is the framework checkout this module lives in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join(origWD, "../../../.."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "transport", "http")); err != nil {
		t.Skipf("no framework checkout at %s: %v", root, err)
	}
	return root
}

// goCmd runs the go command in dir, outside any workspace, resolving
// github.com/zelos-go/zelos to the checkout.
func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// TestGeneratedCodeCompiles generates the test protos into a module that
// uses the framework checkout, builds and vets it, and runs
// testdata/e2e/bookstore_e2e_test.go.txt there: the generated gRPC and
// HTTP servers and clients, over the real transports.
func TestGeneratedCodeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds generated code against the framework")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	for _, p := range testProtos {
		if err := os.CopyFS(filepath.Join(dir, p), os.DirFS(filepath.Join("testdata", p))); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module example.com/shop\n\ngo 1.26.0\n\nrequire github.com/zelos-go/zelos v0.0.0\n\nreplace github.com/zelos-go/zelos => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if _, err := protoc.Client(context.Background(), testProtos, protoc.Options{}); err != nil {
		t.Fatal(err)
	}
	// A service implementing both the gRPC and HTTP interfaces, to prove
	// they agree.
	e2e, err := os.ReadFile(filepath.Join(origWD, "testdata", "e2e", "bookstore_e2e_test.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bookstore/v1/e2e_test.go"), e2e, 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, "mod", "tidy")
	goCmd(t, dir, "build", "./...")
	goCmd(t, dir, "vet", "./...")
	goCmd(t, dir, "test", "./...")
}
