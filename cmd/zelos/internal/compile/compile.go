// Package compile compiles proto files in-process with protocompile and
// turns the result into a protoc plugin request, so the generators run the
// same way whether the zelos CLI or protoc drives them.
//
// Well-known types, google/api/*.proto and zelos/errors/errors.proto are
// built in; anything else is looked up in the import paths.
package compile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/zelos-go/zelos/cmd/zelos/internal/protos"
)

// Input is a set of proto files to compile.
type Input struct {
	// Files are paths on disk of the files to compile (and generate code
	// for). Each must lie under one of ImportPaths.
	Files []string
	// ImportPaths are the directories searched for imports, in order. The
	// name of each file (the name other files import it by, and the one
	// recorded in its descriptor) is its path relative to the first import
	// path that holds it.
	ImportPaths []string
}

// Result is a compiled set of files.
type Result struct {
	// Request is the plugin request: every file needed, dependencies first,
	// with FileToGenerate naming the input files. It has been through a
	// marshal/unmarshal round trip, so options are decoded exactly as a
	// protoc plugin would see them.
	Request *pluginpb.CodeGeneratorRequest
	// Roots maps the name of each input file to the import path (a
	// directory on disk) it was found under; generated files go under it.
	Roots map[string]string
	// Paths maps the name of every file read from disk (inputs and
	// imports, not built-in files) to its path.
	Paths map[string]string
}

// Compile compiles in and returns the plugin request for it. Errors in the
// protos are reported as "path:line:column: message", with the path as
// found on disk.
func Compile(ctx context.Context, in Input) (*Result, error) {
	if len(in.Files) == 0 {
		return nil, errors.New("compile: no proto files given")
	}
	paths := make([]string, 0, len(in.ImportPaths))
	seen := map[string]bool{}
	for _, p := range in.ImportPaths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("compile: import path %q: %w", p, err)
		}
		if !seen[abs] {
			seen[abs] = true
			paths = append(paths, abs)
		}
	}
	res := &Result{Roots: map[string]string{}}
	names := make([]string, 0, len(in.Files))
	for _, f := range in.Files {
		name, root, err := nameOf(f, paths)
		if err != nil {
			return nil, err
		}
		if _, dup := res.Roots[name]; dup {
			continue
		}
		res.Roots[name] = root
		names = append(names, name)
	}

	r := &resolver{paths: paths, found: map[string]string{}}
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(r),
		SourceInfoMode: protocompile.SourceInfoStandard,
		Reporter:       reporter.NewReporter(func(err reporter.ErrorWithPos) error { return err }, nil),
	}
	files, err := c.Compile(ctx, names...)
	if err != nil {
		return nil, r.describe(err)
	}

	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: names}
	done := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if done[fd.Path()] {
			return
		}
		done[fd.Path()] = true
		imps := fd.Imports()
		for i := range imps.Len() {
			add(imps.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, toProto(fd))
	}
	for _, f := range files {
		add(f)
	}
	// Round-trip through the wire format: extensions in options become
	// whatever the Go registry makes of them, as in a real plugin.
	b, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("compile: encoding plugin request: %w", err)
	}
	res.Paths = r.found
	res.Request = &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(b, res.Request); err != nil {
		return nil, fmt.Errorf("compile: decoding plugin request: %w", err)
	}
	return res, nil
}

// toProto returns the descriptor proto of fd. Files linked by protocompile
// carry their original proto; others (standard imports) are converted.
func toProto(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	if r, ok := fd.(linker.Result); ok {
		return r.FileDescriptorProto()
	}
	return protodesc.ToFileDescriptorProto(fd)
}

// nameOf returns the import name of the file at path and the import path
// holding it.
func nameOf(path string, importPaths []string) (name, root string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("compile: %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return "", "", fmt.Errorf("compile: %s: %w", path, err)
	}
	for _, ip := range importPaths {
		rel, err := filepath.Rel(ip, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		return filepath.ToSlash(rel), ip, nil
	}
	return "", "", fmt.Errorf("compile: %s is not under any import path (%s); add one with -I", path, strings.Join(importPaths, ", "))
}

// resolver finds files in the import paths, then among the embedded protos,
// and remembers where on disk each one was found, for error messages.
type resolver struct {
	paths []string
	mu    sync.Mutex
	found map[string]string // import name -> path on disk
}

// FindFileByPath implements protocompile.Resolver.
func (r *resolver) FindFileByPath(name string) (protocompile.SearchResult, error) {
	for _, ip := range r.paths {
		p := filepath.Join(ip, filepath.FromSlash(name))
		f, err := os.Open(p)
		if err == nil {
			r.mu.Lock()
			r.found[name] = p
			r.mu.Unlock()
			return protocompile.SearchResult{Source: f}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return protocompile.SearchResult{}, err
		}
	}
	f, err := protos.FS.Open(name)
	if err != nil {
		return protocompile.SearchResult{}, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	return protocompile.SearchResult{Source: f.(io.Reader)}, nil
}

// describe rewrites the file names in a compile error to the paths on disk
// (relative to the working directory when possible).
func (r *resolver) describe(err error) error {
	var ewp reporter.ErrorWithPos
	if !errors.As(err, &ewp) {
		return err
	}
	pos := ewp.GetPosition()
	file := pos.Filename
	r.mu.Lock()
	if p, ok := r.found[file]; ok {
		file = DisplayPath(p)
	}
	r.mu.Unlock()
	return &Error{File: file, Line: pos.Line, Column: pos.Col, Msg: ewp.Unwrap().Error()}
}

// DisplayPath returns p relative to the working directory if it lies below
// it, and p otherwise.
func DisplayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return rel
}

// Error is an error at a position in a proto file.
type Error struct {
	File         string
	Line, Column int
	Msg          string
}

// Error implements error as "file:line:column: message".
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// FindProtos returns the .proto files under each of paths (a file is taken
// as is; a directory is walked), sorted and without duplicates.
func FindProtos(paths ...string) ([]string, error) {
	set := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
		if !st.IsDir() {
			set[filepath.Clean(p)] = true
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "third_party" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".proto") {
				set[filepath.Clean(path)] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("compile: walking %s: %w", p, err)
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("compile: no .proto files in %s", strings.Join(paths, ", "))
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
