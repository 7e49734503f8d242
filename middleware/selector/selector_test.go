package selector_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/selector"
	"github.com/zelos-go/zelos/transport"
)

// route is a transport.Transporter of a request to op.
type route struct {
	kind transport.Kind
	op   string
}

func (r route) Kind() transport.Kind            { return r.kind }
func (r route) Endpoint() string                { return "" }
func (r route) Operation() string               { return r.op }
func (r route) RequestHeader() transport.Header { return nil }
func (r route) ReplyHeader() transport.Header   { return nil }

// mark is middleware recording that it ran.
func mark(ran *bool) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			*ran = true
			return next(ctx, req)
		}
	}
}

func handler(context.Context, any) (any, error) { return "ok", nil }

func TestServerRules(t *testing.T) {
	var ran bool
	h := selector.Server(mark(&ran)).
		Path("/user.v1.User/Delete", "/users/{id}").
		Prefix("/admin.v1.").
		Regex(`^/report\.v1\.[A-Za-z]+/Export`).
		Match(func(_ context.Context, op string) bool { return strings.HasSuffix(op, "/Secret") }).
		Build()(handler)

	tests := []struct {
		kind transport.Kind
		op   string
		want bool
	}{
		{transport.KindGRPC, "/user.v1.User/Delete", true},
		{transport.KindGRPC, "/user.v1.User/Get", false},
		{transport.KindHTTP, "/users/{id}", true}, // a plain HTTP route
		{transport.KindHTTP, "/users/{id}/photos", false},
		{transport.KindGRPC, "/admin.v1.Admin/Ban", true},
		{transport.KindGRPC, "/report.v1.Sales/ExportCSV", true},
		{transport.KindGRPC, "/report.v1.Sales/Get", false},
		{transport.KindGRPC, "/vault.v1.Vault/Secret", true},
	}
	for _, tt := range tests {
		for range 2 { // the second time from the regex cache
			ran = false
			ctx := transport.NewServerContext(context.Background(), route{tt.kind, tt.op})
			if reply, err := h(ctx, nil); reply != "ok" || err != nil {
				t.Fatalf("%s: handler result %v, %v", tt.op, reply, err)
			}
			if ran != tt.want {
				t.Errorf("%s %s: middleware ran = %v, want %v", tt.kind, tt.op, ran, tt.want)
			}
		}
	}

	// A client Transporter does not count for Server, nor no Transporter.
	ran = false
	_, _ = h(transport.NewClientContext(context.Background(), route{transport.KindGRPC, "/user.v1.User/Delete"}), nil)
	_, _ = h(context.Background(), nil)
	if ran {
		t.Error("Server middleware ran without a server Transporter")
	}
}

func TestClient(t *testing.T) {
	var ran bool
	h := selector.Client(mark(&ran)).Prefix("/user.v1.").Build()(handler)
	_, _ = h(transport.NewServerContext(context.Background(), route{transport.KindGRPC, "/user.v1.User/Get"}), nil)
	if ran {
		t.Error("Client middleware ran for a server Transporter")
	}
	_, _ = h(transport.NewClientContext(context.Background(), route{transport.KindGRPC, "/user.v1.User/Get"}), nil)
	if !ran {
		t.Error("Client middleware did not run for a matching client call")
	}
}

func TestMiddlewareOrder(t *testing.T) {
	var order []string
	step := func(name string) middleware.Middleware {
		return func(next middleware.Handler) middleware.Handler {
			return func(ctx context.Context, req any) (any, error) {
				order = append(order, name)
				return next(ctx, req)
			}
		}
	}
	h := selector.Server(step("a"), step("b")).Path("/x").Build()(handler)
	_, _ = h(transport.NewServerContext(context.Background(), route{transport.KindHTTP, "/x"}), nil)
	if strings.Join(order, ",") != "a,b" {
		t.Errorf("order = %v, want a,b", order)
	}
}

func TestBadRegexPanics(t *testing.T) {
	defer func() {
		if v := recover(); v == nil || !strings.Contains(v.(string), `"(["`) {
			t.Errorf("panic = %v, want one naming the regex", v)
		}
	}()
	selector.Server().Regex("([").Build()
}

func TestNoAllocations(t *testing.T) {
	var ran bool
	h := selector.Server(mark(&ran)).Path("/a").Prefix("/b").Regex("^/c").Build()(handler)
	ctx := transport.NewServerContext(context.Background(), route{transport.KindGRPC, "/c.v1.C/Get"})
	if n := testing.AllocsPerRun(100, func() { _, _ = h(ctx, nil) }); n != 0 {
		t.Errorf("selecting allocates %v times per request, want 0", n)
	}
}
