package gentest_test

import (
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
