// Command protoc-gen-go-errors is a protoc plugin generating the
// _errors.pb.go files of the zelos CLI: IsXxx and ErrorXxx functions for
// the values of enums with (zelos.errors.default_code). Its output is
// byte-identical to `zelos proto client`.
//
//	protoc --go-errors_out=paths=source_relative:. x.proto
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/errorsgen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/generate"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(filepath.Base(os.Args[0]), version.Version)
		return
	}
	protogen.Options{}.Run(func(gen *protogen.Plugin) error {
		generate.SetFeatures(gen)
		for _, f := range gen.Files {
			if f.Generate {
				if _, err := errorsgen.GenerateFile(gen, f); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
