package selector_test

import (
	"context"
	"fmt"

	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/selector"
	"github.com/zelos-go/zelos/transport"
)

func ExampleServer() {
	audit := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, _ := transport.FromServerContext(ctx)
			fmt.Println("audit", tr.Operation())
			return next(ctx, req)
		}
	}
	m := selector.Server(audit).Prefix("/admin.v1.").Path("/users/{id}").Build()
	h := m(func(context.Context, any) (any, error) { return nil, nil })

	for _, op := range []string{"/admin.v1.Admin/Ban", "/user.v1.User/Get", "/users/{id}"} {
		_, _ = h(transport.NewServerContext(context.Background(), route{transport.KindGRPC, op}), nil)
	}
	// Output:
	// audit /admin.v1.Admin/Ban
	// audit /users/{id}
}
