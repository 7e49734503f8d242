package transcode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/reflection"

	"github.com/zelos-go/zelos/gateway/internal/testapi"
	testapiv1 "github.com/zelos-go/zelos/gateway/internal/testapi/v1"
	"github.com/zelos-go/zelos/gateway/transcode"
)

// A gRPC-only service served as JSON over HTTP, its routes read from the
// service's reflection.
func ExampleTranscoder_Handler() {
	// The backend: any gRPC server with reflection (a Zelos one has it).
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	backend := grpc.NewServer()
	testapiv1.RegisterLibraryServer(backend, &testapi.Library{})
	reflection.Register(backend)
	go func() { _ = backend.Serve(lis) }()
	defer backend.Stop()

	// The gateway side.
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	files, err := transcode.FromReflection(context.Background(), conn)
	if err != nil {
		panic(err)
	}
	tc, err := transcode.New(files)
	if err != nil {
		panic(err)
	}
	gw := httptest.NewServer(tc.Handler(conn))
	defer gw.Close()

	for _, path := range []string{"/v1/authors/a1", "/v1/shelves/1/books/x-missing"} {
		res, err := http.Get(gw.URL + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// protojson varies its spacing from build to build: print the JSON
		// compacted.
		var out bytes.Buffer
		_ = json.Compact(&out, body)
		fmt.Println(res.StatusCode, out.String())
	}
	// Output:
	// 200 {"id":"a1","displayName":"Author a1"}
	// 404 {"code":404,"reason":"BOOK_NOT_FOUND","message":"book shelves/1/books/x-missing not found","metadata":{"name":"shelves/1/books/x-missing"}}
}
