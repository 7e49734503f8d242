// Package generate runs every zelos generator over a plugin request, in
// process: protoc-gen-go's own (for .pb.go), gRPC stubs, HTTP routes and
// clients, error helpers and OpenAPI documents.
package generate

import (
	"errors"
	"fmt"
	"strings"

	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/errorsgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/grpcgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/httpgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/openapigen"
)

// Options select what is generated.
type Options struct {
	// DefaultRoutes gives methods without an HTTP rule the route
	// POST /pkg.Service/Method with body "*".
	DefaultRoutes bool
	// NoOpenAPI skips the .openapi.yaml documents.
	NoOpenAPI bool
	// Params are extra protogen parameters, such as M mappings
	// ("Mfoo.proto=example.com/foo"). paths=source_relative is always set.
	Params []string
}

// File is a generated file, named relative to the import path of the proto
// it comes from.
type File struct {
	Name    string
	Content []byte
}

// Run generates the files for req's FileToGenerate.
func Run(req *pluginpb.CodeGeneratorRequest, opts Options) ([]File, error) {
	params := append([]string{"paths=source_relative"}, opts.Params...)
	req.Parameter = ptr(strings.Join(params, ","))
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return nil, err
	}
	SetFeatures(gen)
	if err := httpgen.Check(gen, httpgen.Options{DefaultRoutes: opts.DefaultRoutes}); err != nil {
		return nil, err
	}
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		gengo.GenerateFile(gen, f)
		grpcgen.GenerateFile(gen, f)
		if _, err := httpgen.GenerateFile(gen, f, httpgen.Options{DefaultRoutes: opts.DefaultRoutes}); err != nil {
			return nil, err
		}
		if _, err := errorsgen.GenerateFile(gen, f); err != nil {
			return nil, err
		}
		if !opts.NoOpenAPI {
			if _, err := openapigen.GenerateFile(gen, f, openapigen.Options{DefaultRoutes: opts.DefaultRoutes}); err != nil {
				return nil, err
			}
		}
	}
	resp := gen.Response()
	if resp.Error != nil {
		return nil, errors.New(resp.GetError())
	}
	out := make([]File, 0, len(resp.File))
	for _, f := range resp.File {
		if f.GetInsertionPoint() != "" {
			return nil, fmt.Errorf("generate: unexpected insertion point in %s", f.GetName())
		}
		out = append(out, File{Name: f.GetName(), Content: []byte(f.GetContent())})
	}
	return out, nil
}

// Features are the features every zelos generator supports, for plugin
// responses.
const Features = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL | pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)

// SetFeatures declares on gen the features and editions the zelos
// generators support (those of protoc-gen-go).
func SetFeatures(gen *protogen.Plugin) {
	gen.SupportedFeatures = Features
	gen.SupportedEditionsMinimum = gengo.SupportedEditionsMinimum
	gen.SupportedEditionsMaximum = gengo.SupportedEditionsMaximum
}

func ptr[T any](v T) *T { return &v }
