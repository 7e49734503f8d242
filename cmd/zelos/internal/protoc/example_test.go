package protoc_test

import (
	"context"
	"fmt"

	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
)

// Generate compiles protos in-process and returns what zelos proto client
// would write, next to each proto.
func ExampleGenerate() {
	out, err := protoc.Generate(context.Background(),
		[]string{"testdata/api/user/v1/user.proto"},
		protoc.Options{ImportPaths: []string{"testdata"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range out {
		fmt.Println(o.Name)
	}
	// Output:
	// api/user/v1/user.pb.go
	// api/user/v1/user_grpc.pb.go
	// api/user/v1/user_http.pb.go
	// api/user/v1/user_errors.pb.go
	// api/user/v1/user.openapi.yaml
}
