// Package gentest runs the generators over the test protos of
// internal/protoc/testdata in tests, and compares their output with the
// golden files there, so each generator package is tested on its own with
// the same inputs and expectations as the whole CLI.
package gentest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
)

// Testdata returns the directory of the test protos (and of golden/).
func Testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "protoc", "testdata")
}

// Request compiles the test protos under the testdata directories dirs
// ("api", "bookstore") and returns the plugin request, with parameter
// paths=source_relative plus params.
func Request(t testing.TB, dirs []string, params ...string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	td := Testdata()
	var paths []string
	for _, d := range dirs {
		paths = append(paths, filepath.Join(td, d))
	}
	files, err := compile.FindProtos(paths...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compile.Compile(context.Background(), compile.Input{Files: files, ImportPaths: []string{td}})
	if err != nil {
		t.Fatal(err)
	}
	res.Request.Parameter = proto.String(strings.Join(append([]string{"paths=source_relative"}, params...), ","))
	return res.Request
}

// Plugin returns the protogen plugin of Request(t, dirs).
func Plugin(t testing.TB, dirs ...string) *protogen.Plugin {
	t.Helper()
	gen, err := protogen.Options{}.New(Request(t, dirs))
	if err != nil {
		t.Fatal(err)
	}
	return gen
}

// Golden compares every file of resp whose name ends with suffix to its
// golden copy under testdata/golden/dir ("default", "default_routes"),
// and returns how many it compared.
func Golden(t testing.TB, resp *pluginpb.CodeGeneratorResponse, dir, suffix string) int {
	t.Helper()
	if resp.Error != nil {
		t.Fatalf("generator error: %s", resp.GetError())
	}
	n := 0
	for _, f := range resp.File {
		if !strings.HasSuffix(f.GetName(), suffix) {
			continue
		}
		golden := filepath.Join(Testdata(), "golden", dir, filepath.FromSlash(f.GetName()))
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s: %v", f.GetName(), err)
			continue
		}
		n++
		if !bytes.Equal([]byte(f.GetContent()), want) {
			t.Errorf("%s differs from %s", f.GetName(), golden)
		}
	}
	return n
}

// RunMain runs a plugin's main in-process as protoc would: req on stdin,
// the response read from stdout. It swaps os.Args, os.Stdin and os.Stdout
// for the call, so tests using it must not run in parallel.
func RunMain(t testing.TB, main func(), req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out := RunMainRaw(t, main, in, "protoc-gen-test")
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// RunMainRaw runs main with stdin and os.Args (args[0] the program name)
// and returns what it wrote to stdout.
func RunMainRaw(t testing.TB, main func(), stdin []byte, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := os.WriteFile(inPath, stdin, 0o644); err != nil {
		t.Fatal(err)
	}
	inFile, err := os.Open(inPath)
	if err != nil {
		t.Fatal(err)
	}
	defer inFile.Close()
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	oldArgs, oldIn, oldOut := os.Args, os.Stdin, os.Stdout
	os.Args, os.Stdin, os.Stdout = args, inFile, outFile
	defer func() { os.Args, os.Stdin, os.Stdout = oldArgs, oldIn, oldOut }()
	main()
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Files writes files (slash-separated name -> content) under a new
// temporary directory and returns it.
func Files(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
