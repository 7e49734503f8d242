package openapigen_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
)

var update = flag.Bool("update", false, "rewrite the generated code in testdata/e2e")

// protocTestdata holds the test protos shared with the protoc package.
var protocTestdata = filepath.Join("..", "..", "protoc", "testdata")

// e2eProtos are the test protos whose services TestRepliesMatchDocument
// serves, relative to protocTestdata.
var e2eProtos = []string{"bookstore/v1/bookstore.proto", "api/user/v1/user.proto"}

const e2eImport = "github.com/zelos-go/zelos/cmd/zelos/internal/gen/openapigen/testdata/e2e/"

var goPackage = regexp.MustCompile(`(?m)^option go_package = "[^"]*;([a-z0-9]+)";$`)

// e2eCode generates the Go code of e2eProtos as packages of this module
// under testdata/e2e: the protos are copied with their go_package
// rewritten, so that the code can be imported by the tests here rather
// than built in a module of its own.
func e2eCode(t *testing.T) []protoc.Output {
	t.Helper()
	dir := t.TempDir()
	var targets []string
	for _, p := range e2eProtos {
		src, err := os.ReadFile(filepath.Join(protocTestdata, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		pkgDir := filepath.ToSlash(filepath.Dir(p))
		if !goPackage.Match(src) {
			t.Fatalf("%s: no go_package option to rewrite", p)
		}
		src = goPackage.ReplaceAll(src, []byte(`option go_package = "`+e2eImport+pkgDir+`;$1";`))
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, src, 0o644); err != nil {
			t.Fatal(err)
		}
		targets = append(targets, dst)
	}
	out, err := protoc.Generate(context.Background(), targets, protoc.Options{ImportPaths: []string{dir}, NoOpenAPI: true})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestE2ECodeFresh checks that the code in testdata/e2e is what the
// generators make of the test protos today. Run with -update to rewrite it.
func TestE2ECodeFresh(t *testing.T) {
	for _, o := range e2eCode(t) {
		// The messages and the HTTP routes are all the tests need; the
		// gRPC and error code is left out so that a change there does not
		// make this copy stale.
		if !strings.HasSuffix(o.Name, "_http.pb.go") && (!strings.HasSuffix(o.Name, ".pb.go") ||
			strings.HasSuffix(o.Name, "_grpc.pb.go") || strings.HasSuffix(o.Name, "_errors.pb.go")) {
			continue
		}
		t.Run(o.Name, func(t *testing.T) {
			path := filepath.Join("testdata", "e2e", filepath.FromSlash(o.Name))
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, o.Content, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, o.Content) {
				t.Errorf("%s is stale (run go test -run TestE2ECodeFresh -update)", path)
			}
		})
	}
}
