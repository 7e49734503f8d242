package grpcgen_test

import (
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/grpcgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
)

// TestGolden generates the _grpc.pb.go files of the test protos (unary and
// every kind of stream) and compares them with the golden files.
func TestGolden(t *testing.T) {
	gen := gentest.Plugin(t, "api", "bookstore")
	for _, f := range gen.Files {
		if f.Generate {
			grpcgen.GenerateFile(gen, f)
		}
	}
	if n := gentest.Golden(t, gen.Response(), "default", "_grpc.pb.go"); n != 4 {
		t.Errorf("compared %d files, want 4 (chat, user, order, bookstore)", n)
	}
}

// TestNoService checks that a file without services gets no _grpc.pb.go.
func TestNoService(t *testing.T) {
	gen := gentest.Plugin(t, "api")
	for _, f := range gen.Files {
		if !f.Generate {
			if g := grpcgen.GenerateFile(gen, f); g != nil {
				t.Errorf("%s (no services): generated a file", f.Desc.Path())
			}
		}
	}
}
