package generate_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/pluginpb"

	"github.com/zelos-go/zelos/cmd/zelos/internal/generate"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
)

// TestRun runs every generator over the test protos and compares the Go
// files with the golden ones.
func TestRun(t *testing.T) {
	req := gentest.Request(t, []string{"api", "bookstore"})
	files, err := generate.Run(req, generate.Options{NoOpenAPI: true})
	if err != nil {
		t.Fatal(err)
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".openapi.yaml") {
			t.Errorf("NoOpenAPI: wrote %s", f.Name)
		}
		name, content := f.Name, string(f.Content)
		resp.File = append(resp.File, &pluginpb.CodeGeneratorResponse_File{Name: &name, Content: &content})
	}
	// 4 .pb.go, 4 _grpc, 3 _http (chat has no rule), 2 _errors.
	if n := gentest.Golden(t, resp, "default", ".go"); n != 13 {
		t.Errorf("compared %d files, want 13", n)
	}

	files, err = generate.Run(gentest.Request(t, []string{"bookstore"}), generate.Options{DefaultRoutes: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "bookstore/v1/bookstore.openapi.yaml") || !strings.Contains(got, "bookstore/v1/bookstore_http.pb.go") {
		t.Errorf("default routes with OpenAPI: %s", got)
	}
}

func TestRunErrors(t *testing.T) {
	req := gentest.Request(t, []string{"bookstore"})
	req.FileToGenerate = []string{"nope.proto"}
	if _, err := generate.Run(req, generate.Options{}); err == nil {
		t.Error("unknown file to generate: no error")
	}
	req = gentest.Request(t, []string{"bookstore"})
	req.ProtoFile[len(req.ProtoFile)-1].Options.GoPackage = nil
	if _, err := generate.Run(req, generate.Options{}); err == nil || !strings.Contains(err.Error(), "Go import path") {
		t.Errorf("no go_package: %v", err)
	}
}

func TestFeatures(t *testing.T) {
	if generate.Features&uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL) == 0 || generate.Features&uint64(pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS) == 0 {
		t.Errorf("Features = %b", generate.Features)
	}
}
