// Package service adapts the order use case to api/order/v1: requests in,
// replies out, over gRPC and HTTP alike.
package service

import (
	"context"
	"time"

	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
	"github.com/zelos-go/zelos/transport"
)

// IdempotencyKeyHeader is the request header (HTTP) or metadata key (gRPC,
// lower-case) whose value makes a retried CreateOrder create one order.
const IdempotencyKeyHeader = "Idempotency-Key"

// UserHeader is the request header in which the gateway forwards the
// subject of the caller's verified token (forward_subject in its config).
// When it is set, a request may only name that user: the orders of others
// are refused (CreateOrder, ListOrders) or not found (GetOrder). When it
// is absent (a call inside the cluster, a test), user_id is trusted.
const UserHeader = "X-User-Id"

// OrderService implements api.order.v1.OrderService.
type OrderService struct {
	v1.UnimplementedOrderServiceServer

	uc *biz.OrderUsecase
}

// NewOrderService returns the service over uc.
func NewOrderService(uc *biz.OrderUsecase) *OrderService { return &OrderService{uc: uc} }

// CreateOrder creates an order, once per Idempotency-Key.
func (s *OrderService) CreateOrder(ctx context.Context, in *v1.CreateOrderRequest) (*v1.CreateOrderReply, error) {
	userID, err := caller(ctx, in.GetUserId())
	if err != nil {
		return nil, err
	}
	req := biz.CreateRequest{UserID: userID, IdempotencyKey: header(ctx, IdempotencyKeyHeader)}
	for _, it := range in.GetItems() {
		req.Items = append(req.Items, biz.Item{ProductID: it.GetProductId(), Quantity: it.GetQuantity()})
	}
	o, user, err := s.uc.CreateOrder(ctx, req)
	if err != nil {
		return nil, err
	}
	reply := toProto(o)
	reply.User = user
	return &v1.CreateOrderReply{Order: reply}, nil
}

// header is the request header key: the HTTP header, or the gRPC
// metadata (both transports' headers look keys up without regard to
// case).
func header(ctx context.Context, key string) string {
	tr, ok := transport.FromServerContext(ctx)
	if !ok {
		return ""
	}
	return tr.RequestHeader().Get(key)
}

// caller returns the user a request is for: userID, which must be the
// logged-in user's if the gateway named one (UserHeader); that user if
// userID is empty.
func caller(ctx context.Context, userID string) (string, error) {
	sub := header(ctx, UserHeader)
	switch {
	case sub == "":
		return userID, nil
	case userID == "":
		return sub, nil
	case userID != sub:
		return "", v1.ErrorOrderForbidden("order: user_id %q is not the logged-in user", userID)
	}
	return userID, nil
}

// GetOrder returns one order.
func (s *OrderService) GetOrder(ctx context.Context, in *v1.GetOrderRequest) (*v1.GetOrderReply, error) {
	o, err := s.uc.GetOrder(ctx, in.GetId())
	if err != nil {
		return nil, err
	}
	if sub := header(ctx, UserHeader); sub != "" && o.UserID != sub {
		// Not found, rather than forbidden: another user's order IDs are
		// none of the caller's business.
		return nil, biz.ErrNotFound
	}
	return &v1.GetOrderReply{Order: toProto(o)}, nil
}

// ListOrders returns a page of a user's orders.
func (s *OrderService) ListOrders(ctx context.Context, in *v1.ListOrdersRequest) (*v1.ListOrdersReply, error) {
	userID, err := caller(ctx, in.GetUserId())
	if err != nil {
		return nil, err
	}
	list, total, err := s.uc.ListOrders(ctx, userID, in.GetPage(), in.GetPageSize())
	if err != nil {
		return nil, err
	}
	reply := &v1.ListOrdersReply{Orders: make([]*v1.Order, len(list)), Total: int32(min(total, 1<<31-1))}
	for i, o := range list {
		reply.Orders[i] = toProto(o)
	}
	return reply, nil
}

// toProto is o on the wire: amounts as decimal strings, times in RFC 3339
// UTC. The user is set by CreateOrder only, which has it at hand; the
// other methods would need a call to the user service per order.
func toProto(o *biz.Order) *v1.Order {
	out := &v1.Order{
		Id:          o.ID,
		UserId:      o.UserID,
		Status:      string(o.Status),
		TotalAmount: o.Total.String(),
		CreatedAt:   o.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt:   o.UpdatedAt.UTC().Format(time.RFC3339),
		Items:       make([]*v1.OrderItem, len(o.Items)),
	}
	for i, it := range o.Items {
		out.Items[i] = &v1.OrderItem{
			ProductId:   it.ProductID,
			ProductName: it.ProductName,
			Quantity:    it.Quantity,
			Price:       it.Price.String(),
			Total:       it.Total().String(),
		}
	}
	return out
}

var _ v1.OrderServiceServer = (*OrderService)(nil)
