// Package protoserver writes service implementation stubs for the services
// of a proto file (zelos proto server).
package protoserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
)

// Options configure Write.
type Options struct {
	// Dir is the directory the stubs go to; its base name is their package.
	Dir string
	// ImportPaths are searched before the default ones.
	ImportPaths []string
}

// Result is one stub file.
type Result struct {
	Path    string
	Skipped bool // the file existed and was left alone
}

// Write writes one stub file per service of the proto at path into
// o.Dir, named after the service (greeter.go for Greeter), and never
// overwrites an existing file.
func Write(ctx context.Context, path string, o Options) ([]Result, error) {
	if o.Dir == "" {
		o.Dir = filepath.Join("internal", "service")
	}
	res, err := protoc.Compile(ctx, []string{path}, o.ImportPaths)
	if err != nil {
		return nil, err
	}
	gen, err := protogen.Options{}.New(res.Request)
	if err != nil {
		return nil, err
	}
	dirImport := protogen.GoImportPath(importPathOf(o.Dir))
	pkg := packageName(o.Dir)
	var out []Result
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		if len(f.Services) == 0 {
			return nil, fmt.Errorf("zelos proto server: %s has no service", path)
		}
		for _, s := range f.Services {
			name := strings.ToLower(s.GoName) + ".go"
			g := gen.NewGeneratedFile(name, dirImport)
			genStub(g, pkg, f, s)
			p := filepath.Join(o.Dir, name)
			if _, err := os.Stat(p); err == nil {
				out = append(out, Result{Path: p, Skipped: true})
				continue
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			content, err := g.Content()
			if err != nil {
				return nil, fmt.Errorf("zelos proto server: %s: %w", p, err)
			}
			if err := os.MkdirAll(o.Dir, 0o755); err != nil {
				return nil, err
			}
			// O_EXCL: never replace a file, even one created meanwhile.
			fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return nil, fmt.Errorf("zelos proto server: %w", err)
			}
			_, werr := fh.Write(content)
			if cerr := fh.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return nil, fmt.Errorf("zelos proto server: %w", werr)
			}
			out = append(out, Result{Path: p})
		}
	}
	return out, nil
}

// importPathOf returns the Go import path of dir, from the module holding
// it, or a made-up one outside any module (it only needs to differ from
// the proto's package).
func importPathOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "zelos.invalid/" + filepath.Base(dir)
	}
	root, mod, err := protoc.FindModule(filepath.Dir(abs))
	if err != nil {
		return "zelos.invalid/" + filepath.Base(dir)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == "." {
		return mod
	}
	return mod + "/" + filepath.ToSlash(rel)
}

func packageName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	base := filepath.Base(abs)
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "service"
	}
	return b.String()
}

func genStub(g *protogen.GeneratedFile, pkg string, f *protogen.File, s *protogen.Service) {
	grpc := protogen.GoImportPath("google.golang.org/grpc")
	name := s.GoName + "Service"
	if strings.HasSuffix(s.GoName, "Service") {
		name = s.GoName
	}
	g.P("package ", pkg)
	g.P()
	g.P("// ", name, " implements ", s.Desc.FullName(), ".")
	g.P("type ", name, " struct {")
	g.P(g.QualifiedGoIdent(protogen.GoIdent{GoName: "Unimplemented" + s.GoName + "Server", GoImportPath: f.GoImportPath}))
	g.P("}")
	if len(s.Methods) == 0 {
		return
	}
	g.P()
	g.P("// New", name, " returns a ", name, ".")
	g.P("func New", name, "() *", name, " {")
	g.P("return &", name, "{}")
	g.P("}")
	for _, m := range s.Methods {
		in := g.QualifiedGoIdent(m.Input.GoIdent)
		out := g.QualifiedGoIdent(m.Output.GoIdent)
		g.P()
		g.P("// ", m.GoName, " implements ", m.Desc.FullName(), ".")
		switch {
		case !m.Desc.IsStreamingClient() && !m.Desc.IsStreamingServer():
			g.P("func (s *", name, ") ", m.GoName, "(ctx ", g.QualifiedGoIdent(protogen.GoIdent{GoName: "Context", GoImportPath: "context"}), ", req *", in, ") (*", out, ", error) {")
			g.P("return &", out, "{}, nil")
			g.P("}")
		case !m.Desc.IsStreamingClient():
			g.P("func (s *", name, ") ", m.GoName, "(req *", in, ", stream ", g.QualifiedGoIdent(grpc.Ident("ServerStreamingServer")), "[", out, "]) error {")
			g.P("return stream.Send(&", out, "{})")
			g.P("}")
		case !m.Desc.IsStreamingServer():
			g.P("func (s *", name, ") ", m.GoName, "(stream ", g.QualifiedGoIdent(grpc.Ident("ClientStreamingServer")), "[", in, ", ", out, "]) error {")
			g.P("for {")
			g.P("_, err := stream.Recv()")
			g.P("if err == ", g.QualifiedGoIdent(protogen.GoIdent{GoName: "EOF", GoImportPath: "io"}), " {")
			g.P("return stream.SendAndClose(&", out, "{})")
			g.P("}")
			g.P("if err != nil {")
			g.P("return err")
			g.P("}")
			g.P("}")
			g.P("}")
		default:
			g.P("func (s *", name, ") ", m.GoName, "(stream ", g.QualifiedGoIdent(grpc.Ident("BidiStreamingServer")), "[", in, ", ", out, "]) error {")
			g.P("for {")
			g.P("_, err := stream.Recv()")
			g.P("if err == ", g.QualifiedGoIdent(protogen.GoIdent{GoName: "EOF", GoImportPath: "io"}), " {")
			g.P("return nil")
			g.P("}")
			g.P("if err != nil {")
			g.P("return err")
			g.P("}")
			g.P("if err := stream.Send(&", out, "{}); err != nil {")
			g.P("return err")
			g.P("}")
			g.P("}")
			g.P("}")
		}
	}
}
