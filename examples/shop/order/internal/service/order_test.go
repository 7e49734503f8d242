package service

import (
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"

	shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"
	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/order/internal/data"
	productv1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	userv1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/http"
)

// request is a server Transporter carrying the given request header.
type request struct{ h http.HeaderCarrier }

func (r request) Kind() transport.Kind            { return transport.KindHTTP }
func (r request) Endpoint() string                { return "" }
func (r request) Operation() string               { return v1.OperationOrderServiceCreateOrder }
func (r request) RequestHeader() transport.Header { return r.h }
func (r request) ReplyHeader() transport.Header   { return http.HeaderCarrier{} }

func withHeader(kv ...string) context.Context {
	h := http.HeaderCarrier{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return transport.NewServerContext(context.Background(), request{h})
}

func TestCaller(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		asked     string
		want      string
		forbidden bool
	}{
		{"no transport", context.Background(), "u1", "u1", false},
		{"no gateway header", withHeader(), "u1", "u1", false},
		{"the logged-in user", withHeader("X-User-Id", "u1"), "u1", "u1", false},
		{"user_id left out", withHeader("X-User-Id", "u1"), "", "u1", false},
		{"another user", withHeader("X-User-Id", "u1"), "u2", "", true},
		{"empty header, as the gateway sends without a token", withHeader("X-User-Id", ""), "u2", "u2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := caller(tc.ctx, tc.asked)
			if got != tc.want || v1.IsOrderForbidden(err) != tc.forbidden {
				t.Errorf("caller(%q) = %q, %v", tc.asked, got, err)
			}
		})
	}
	if k := header(withHeader("idempotency-key", "abc"), IdempotencyKeyHeader); k != "abc" {
		t.Errorf("idempotency key %q", k)
	}
}

func TestToProto(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.FixedZone("CET", 3600))
	o := toProto(&biz.Order{
		ID: "o1", UserID: "u1", Status: biz.StatusConfirmed, Total: 2510, CreatedAt: at, UpdatedAt: at,
		Items: []biz.Item{{ProductID: "p1", ProductName: "Pen", Quantity: 2, Price: 1255}},
	})
	if o.GetTotalAmount() != "25.10" || o.GetStatus() != "confirmed" || o.GetCreatedAt() != "2026-05-06T06:08:09Z" {
		t.Errorf("order %v", o)
	}
	it := o.GetItems()[0]
	if it.GetPrice() != "12.55" || it.GetTotal() != "25.10" || it.GetQuantity() != 2 || it.GetProductName() != "Pen" {
		t.Errorf("item %v", it)
	}
}

type users struct{ userv1.UserServiceClient }

func (users) GetUser(_ context.Context, in *userv1.GetUserRequest, _ ...grpc.CallOption) (*userv1.GetUserReply, error) {
	return &userv1.GetUserReply{User: &userv1.User{Id: in.GetId(), Name: "Ada"}}, nil
}

// products has every product in stock at 12.50.
type products struct{ productv1.ProductServiceClient }

func (products) ReserveStock(_ context.Context, in *productv1.ReserveStockRequest, _ ...grpc.CallOption) (*productv1.ReserveStockReply, error) {
	out := &productv1.ReserveStockReply{Reservation: &productv1.Reservation{ReservationId: in.GetReservationId()}}
	for _, it := range in.GetItems() {
		out.Products = append(out.Products, &productv1.Product{Id: it.GetProductId(), Name: "Pen", Price: "12.50"})
	}
	return out, nil
}

func (products) ConfirmStock(context.Context, *productv1.ConfirmStockRequest, ...grpc.CallOption) (*productv1.ConfirmStockReply, error) {
	return &productv1.ConfirmStockReply{}, nil
}

func TestOrderService(t *testing.T) {
	g, _, closeDB, err := data.Open(context.Background(), shopconf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	s := NewOrderService(biz.NewOrderUsecase(data.NewOrderRepo(g), users{}, products{}, log.NewStdLogger(io.Discard)))
	ctx := withHeader("Idempotency-Key", "k", "X-User-Id", "u1")
	req := &v1.CreateOrderRequest{Items: []*v1.CreateOrderItem{{ProductId: "p1", Quantity: 2}}}
	created, err := s.CreateOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	o := created.GetOrder()
	if o.GetUserId() != "u1" || o.GetUser().GetName() != "Ada" || o.GetTotalAmount() != "25.00" {
		t.Errorf("created %v", o)
	}
	if again, err := s.CreateOrder(ctx, req); err != nil || again.GetOrder().GetId() != o.GetId() {
		t.Errorf("retry: %v, %v", again, err)
	}
	if _, err := s.CreateOrder(withHeader("X-User-Id", "u1"), &v1.CreateOrderRequest{UserId: "u2", Items: req.Items}); !v1.IsOrderForbidden(err) {
		t.Errorf("another user: %v", err)
	}
	got, err := s.GetOrder(ctx, &v1.GetOrderRequest{Id: o.GetId()})
	if err != nil || got.GetOrder().GetId() != o.GetId() || got.GetOrder().GetUser() != nil {
		t.Errorf("get: %v, %v", got, err)
	}
	if _, err := s.GetOrder(withHeader("X-User-Id", "u2"), &v1.GetOrderRequest{Id: o.GetId()}); !v1.IsOrderNotFound(err) {
		t.Errorf("get another user's: %v", err)
	}
	if _, err := s.GetOrder(ctx, &v1.GetOrderRequest{Id: "nope"}); !v1.IsOrderNotFound(err) {
		t.Errorf("get unknown: %v", err)
	}
	list, err := s.ListOrders(ctx, &v1.ListOrdersRequest{})
	if err != nil || list.GetTotal() != 1 || len(list.GetOrders()) != 1 {
		t.Errorf("list: %v, %v", list, err)
	}
	if _, err := s.ListOrders(ctx, &v1.ListOrdersRequest{UserId: "u2"}); !v1.IsOrderForbidden(err) {
		t.Errorf("list another user's: %v", err)
	}
	if _, err := s.CreateOrder(context.Background(), &v1.CreateOrderRequest{}); !v1.IsInvalidOrder(err) {
		t.Errorf("empty request: %v", err)
	}
}
