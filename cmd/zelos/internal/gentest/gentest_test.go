package gentest_test

import (
	"io"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
)

func TestPlugin(t *testing.T) {
	gen := gentest.Plugin(t, "api", "bookstore")
	var names []string
	for _, f := range gen.Files {
		if f.Generate {
			names = append(names, f.Desc.Path())
		}
	}
	if got := strings.Join(names, " "); got != "api/chat/v1/chat.proto api/user/v1/user.proto api/order/v1/order.proto bookstore/v1/bookstore.proto" {
		t.Errorf("files to generate: %s", got)
	}
	if p := gentest.Request(t, []string{"api"}, "x=y").GetParameter(); p != "paths=source_relative,x=y" {
		t.Errorf("parameter %q", p)
	}
}

func TestGolden(t *testing.T) {
	resp := &pluginpb.CodeGeneratorResponse{File: []*pluginpb.CodeGeneratorResponse_File{
		{Name: proto.String("api/user/v1/user.pb.go"), Content: proto.String("not the golden content")},
	}}
	ft := &fakeT{TB: t}
	if n := gentest.Golden(ft, resp, "default", ".pb.go"); n != 1 || !ft.failed {
		t.Errorf("Golden compared %d files, failed %v; want 1 and a failure", n, ft.failed)
	}
}

// fakeT records failures instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }

// TestRunMain runs a fake plugin that answers with one file per file to
// generate.
func TestRunMain(t *testing.T) {
	fake := func() {
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			t.Fatal(err)
		}
		req := &pluginpb.CodeGeneratorRequest{}
		if err := proto.Unmarshal(in, req); err != nil {
			t.Fatal(err)
		}
		resp := &pluginpb.CodeGeneratorResponse{}
		for _, f := range req.FileToGenerate {
			resp.File = append(resp.File, &pluginpb.CodeGeneratorResponse_File{Name: proto.String(f + ".txt"), Content: proto.String(os.Args[0])})
		}
		b, err := proto.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stdout.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	stdin, stdout := os.Stdin, os.Stdout
	resp := gentest.RunMain(t, fake, gentest.Request(t, []string{"bookstore"}))
	if len(resp.File) != 1 || resp.File[0].GetName() != "bookstore/v1/bookstore.proto.txt" || resp.File[0].GetContent() != "protoc-gen-test" {
		t.Errorf("response %v", resp)
	}
	if os.Stdin != stdin || os.Stdout != stdout {
		t.Error("os.Stdin or os.Stdout not restored")
	}
}

func TestFiles(t *testing.T) {
	dir := gentest.Files(t, map[string]string{"a/b/c.txt": "c", "d.txt": "d"})
	for name, want := range map[string]string{"a/b/c.txt": "c", "d.txt": "d"} {
		if b, err := os.ReadFile(dir + "/" + name); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
}
