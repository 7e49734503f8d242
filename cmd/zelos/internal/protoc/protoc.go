// Package protoc is the in-process replacement for protoc plus plugins
// behind `zelos proto client`: it finds and compiles proto files, runs the
// generators and writes their output next to each proto.
package protoc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/errorsgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/generate"
	"github.com/zelos-go/zelos/cmd/zelos/internal/httprule"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protos"
)

// Options configure a Client run.
type Options struct {
	// ImportPaths are searched first, in order; the working directory, the
	// module root above it and the directory of each proto follow.
	ImportPaths []string
	// DefaultRoutes gives methods without an HTTP rule the route
	// POST /pkg.Service/Method with body "*".
	DefaultRoutes bool
	// NoOpenAPI skips the .openapi.yaml documents.
	NoOpenAPI bool
}

// Written is a file a Client run wrote or found up to date.
type Written struct {
	Path    string // on disk
	Changed bool   // false when the file already had this content
}

// Output is a generated file and where it goes.
type Output struct {
	Path    string // on disk: next to its proto
	Name    string // relative to the proto's import path
	Content []byte
}

// Generate compiles the proto files in targets (files, or directories
// walked for .proto files) and returns the generated files, without
// writing them.
func Generate(ctx context.Context, targets []string, opts Options) ([]Output, error) {
	files, err := compile.FindProtos(targets...)
	if err != nil {
		return nil, err
	}
	res, err := Compile(ctx, files, opts.ImportPaths)
	if err != nil {
		return nil, err
	}
	params, err := goPackageParams(res)
	if err != nil {
		return nil, err
	}
	gen, err := generate.Run(res.Request, generate.Options{
		DefaultRoutes: opts.DefaultRoutes,
		NoOpenAPI:     opts.NoOpenAPI,
		Params:        params,
	})
	if err != nil {
		return nil, locate(err, res)
	}
	out := make([]Output, 0, len(gen))
	for _, f := range gen {
		root, ok := rootOf(f.Name, res)
		if !ok {
			return nil, fmt.Errorf("zelos proto client: generated file %s matches no input proto", f.Name)
		}
		out = append(out, Output{Path: filepath.Join(root, filepath.FromSlash(f.Name)), Name: f.Name, Content: f.Content})
	}
	return out, nil
}

// Client generates code for the proto files in targets (files or
// directories, walked for .proto files) and writes it next to them.
// Files whose content is unchanged are left alone.
func Client(ctx context.Context, targets []string, opts Options) ([]Written, error) {
	out, err := Generate(ctx, targets, opts)
	if err != nil {
		return nil, err
	}
	written := make([]Written, 0, len(out))
	for _, f := range out {
		w, err := writeFile(f.Path, f.Content)
		if err != nil {
			return nil, fmt.Errorf("zelos proto client: %w", err)
		}
		written = append(written, w)
	}
	return written, nil
}

// Compile compiles files with the default import paths after extra.
func Compile(ctx context.Context, files, extra []string) (*compile.Result, error) {
	return compile.Compile(ctx, compile.Input{Files: files, ImportPaths: ImportPaths(files, extra)})
}

// ImportPaths returns extra followed by the working directory, the module
// root above it, and the directories of files.
func ImportPaths(files, extra []string) []string {
	paths := append([]string(nil), extra...)
	if wd, err := os.Getwd(); err == nil {
		paths = append(paths, wd)
		if root, _, err := FindModule(wd); err == nil {
			paths = append(paths, root)
		}
	}
	for _, f := range files {
		paths = append(paths, filepath.Dir(f))
	}
	return paths
}

// WriteIncludes writes the protos built into the CLI (see package protos)
// under dir, by import path, for protoc and buf users. Files already up to
// date are left alone.
func WriteIncludes(dir string) ([]Written, error) {
	var written []Written
	err := fs.WalkDir(protos.FS, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := protos.FS.ReadFile(name)
		if err != nil {
			return err
		}
		w, err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), b)
		if err != nil {
			return fmt.Errorf("zelos proto include: %w", err)
		}
		written = append(written, w)
		return nil
	})
	return written, err
}

func writeFile(p string, content []byte) (Written, error) {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, content) {
		return Written{Path: p}, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return Written{}, err
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		return Written{}, err
	}
	return Written{Path: p, Changed: true}, nil
}

// generatedSuffixes are the endings the generators append to a proto's
// name without .proto.
var generatedSuffixes = [...]string{".pb.go", "_grpc.pb.go", "_http.pb.go", "_errors.pb.go", ".openapi.yaml"}

// rootOf returns the import path under which the proto that name was
// generated from lies.
func rootOf(name string, res *compile.Result) (string, bool) {
	for _, suf := range generatedSuffixes {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if root, ok := res.Roots[base+".proto"]; ok {
				return root, true
			}
		}
	}
	return "", false
}

// locate rewrites the proto names in generator errors to paths on disk.
func locate(err error, res *compile.Result) error {
	var he *httprule.Error
	if errors.As(err, &he) {
		return &compile.Error{File: diskPath(he.File, res), Line: he.Line, Column: he.Column, Msg: he.Msg}
	}
	var ee *errorsgen.Error
	if errors.As(err, &ee) {
		return &compile.Error{File: diskPath(ee.File, res), Line: ee.Line, Column: ee.Column, Msg: ee.Msg}
	}
	return err
}

func diskPath(name string, res *compile.Result) string {
	if p, ok := res.Paths[name]; ok {
		return compile.DisplayPath(p)
	}
	return name
}

// goPackageParams returns M parameters giving each file found on disk
// without a go_package option the import path of its directory in the Go
// module holding it.
func goPackageParams(res *compile.Result) ([]string, error) {
	var params []string
	for _, fd := range res.Request.ProtoFile {
		if fd.GetOptions().GetGoPackage() != "" {
			continue
		}
		p, ok := res.Paths[fd.GetName()]
		if !ok {
			continue
		}
		dir := filepath.Dir(p)
		root, mod, err := FindModule(dir)
		if err != nil {
			return nil, fmt.Errorf("zelos proto client: %s has no go_package option and is in no Go module: %w", compile.DisplayPath(p), err)
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return nil, err
		}
		imp := mod
		if rel != "." {
			imp += "/" + filepath.ToSlash(rel)
		}
		params = append(params, "M"+fd.GetName()+"="+imp)
	}
	sort.Strings(params)
	return params, nil
}

var moduleLine = regexp.MustCompile(`(?m)^\s*module\s+("?)([^\s"]+)("?)\s*$`)

// FindModule returns the directory of the go.mod at or above dir, and its
// module path.
func FindModule(dir string) (root, module string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for d := dir; ; {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			m := moduleLine.FindSubmatch(b)
			if m == nil {
				return "", "", fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
			}
			return d, string(m[2]), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", fmt.Errorf("no go.mod at or above %s", dir)
		}
		d = parent
	}
}
