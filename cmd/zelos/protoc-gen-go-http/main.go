// Command protoc-gen-go-http is a protoc plugin generating the
// _http.pb.go files of the zelos CLI: HTTP routes (over
// github.com/zelos-go/zelos/transport/http) and typed HTTP clients from
// google.api.http rules. Its output is byte-identical to
// `zelos proto client`.
//
//	protoc --go-http_out=paths=source_relative:. [--go-http_opt=default_routes=true] x.proto
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/httpgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/generate"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(filepath.Base(os.Args[0]), version.Version)
		return
	}
	var opts httpgen.Options
	protogen.Options{
		ParamFunc: func(name, value string) error {
			ok, err := opts.ParseParam(name, value)
			if !ok {
				return fmt.Errorf("protoc-gen-go-http: unknown parameter %q", name)
			}
			return err
		},
	}.Run(func(gen *protogen.Plugin) error {
		generate.SetFeatures(gen)
		if err := httpgen.Check(gen, opts); err != nil {
			return err
		}
		for _, f := range gen.Files {
			if f.Generate {
				if _, err := httpgen.GenerateFile(gen, f, opts); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
