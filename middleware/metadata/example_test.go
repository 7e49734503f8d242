package metadata_test

import (
	"context"
	"fmt"
	"net/http"

	md "github.com/zelos-go/zelos/metadata"
	"github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/transport"
)

func ExampleServer() {
	h := metadata.Server()(func(ctx context.Context, _ any) (any, error) {
		m, _ := md.FromServerContext(ctx)
		fmt.Println(m.Get("x-md-global-user"))
		return nil, nil
	})
	// A request carrying x-md-global-user, as a transport would present it.
	tr := &httpTransporter{header: http.Header{"X-Md-Global-User": {"alice"}}}
	_, _ = h(transport.NewServerContext(context.Background(), tr), nil)
	// Output: alice
}
