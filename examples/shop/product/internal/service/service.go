// Package service implements the ProductService API over the biz use
// cases.
package service

import (
	"context"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/page"
	v1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
)

// ProductService serves v1.ProductService over gRPC and HTTP.
type ProductService struct {
	v1.UnimplementedProductServiceServer
	uc *biz.ProductUsecase
}

// NewProductService returns the service over uc.
func NewProductService(uc *biz.ProductUsecase) *ProductService { return &ProductService{uc: uc} }

// CreateProduct adds a product.
func (s *ProductService) CreateProduct(ctx context.Context, req *v1.CreateProductRequest) (*v1.CreateProductReply, error) {
	p, err := s.uc.Create(ctx, req.GetName(), req.GetDescription(), req.GetPrice(), req.GetStock())
	if err != nil {
		return nil, err
	}
	return &v1.CreateProductReply{Product: ToProto(p)}, nil
}

// GetProduct returns one product.
func (s *ProductService) GetProduct(ctx context.Context, req *v1.GetProductRequest) (*v1.GetProductReply, error) {
	p, err := s.uc.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &v1.GetProductReply{Product: ToProto(p)}, nil
}

// UpdateProduct changes the fields that are set.
func (s *ProductService) UpdateProduct(ctx context.Context, req *v1.UpdateProductRequest) (*v1.UpdateProductReply, error) {
	p, err := s.uc.Update(ctx, req.GetId(), req.Name, req.Description, req.Price)
	if err != nil {
		return nil, err
	}
	return &v1.UpdateProductReply{Product: ToProto(p)}, nil
}

// DeleteProduct removes a product.
func (s *ProductService) DeleteProduct(ctx context.Context, req *v1.DeleteProductRequest) (*v1.DeleteProductReply, error) {
	if err := s.uc.Delete(ctx, req.GetId()); err != nil {
		return nil, err
	}
	return &v1.DeleteProductReply{}, nil
}

// ListProducts returns a page of products, searched by name.
func (s *ProductService) ListProducts(ctx context.Context, req *v1.ListProductsRequest) (*v1.ListProductsReply, error) {
	offset, limit := page.Bounds(req.GetPage(), req.GetPageSize())
	ps, total, err := s.uc.List(ctx, req.GetQ(), offset, limit)
	if err != nil {
		return nil, err
	}
	reply := &v1.ListProductsReply{Products: make([]*v1.Product, len(ps)), Total: int32(total)}
	for i, p := range ps {
		reply.Products[i] = ToProto(p)
	}
	return reply, nil
}

// UpdateStock changes a product's stock.
func (s *ProductService) UpdateStock(ctx context.Context, req *v1.UpdateStockRequest) (*v1.UpdateStockReply, error) {
	p, err := s.uc.UpdateStock(ctx, req.GetProductId(), req.GetQuantity(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &v1.UpdateStockReply{Product: ToProto(p)}, nil
}

// ReserveStock takes the stock of the items, all or none.
func (s *ProductService) ReserveStock(ctx context.Context, req *v1.ReserveStockRequest) (*v1.ReserveStockReply, error) {
	items := make([]biz.StockItem, len(req.GetItems()))
	for i, it := range req.GetItems() {
		items[i] = biz.StockItem{ProductID: it.GetProductId(), Quantity: it.GetQuantity()}
	}
	r, ps, err := s.uc.Reserve(ctx, req.GetReservationId(), items)
	if err != nil {
		return nil, err
	}
	reply := &v1.ReserveStockReply{Reservation: reservationProto(r), Products: make([]*v1.Product, len(ps))}
	for i, p := range ps {
		reply.Products[i] = ToProto(p)
	}
	return reply, nil
}

// ConfirmStock makes a reservation final.
func (s *ProductService) ConfirmStock(ctx context.Context, req *v1.ConfirmStockRequest) (*v1.ConfirmStockReply, error) {
	r, err := s.uc.Confirm(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return &v1.ConfirmStockReply{Reservation: reservationProto(r)}, nil
}

// ReleaseStock gives a reservation's stock back.
func (s *ProductService) ReleaseStock(ctx context.Context, req *v1.ReleaseStockRequest) (*v1.ReleaseStockReply, error) {
	r, err := s.uc.Release(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return &v1.ReleaseStockReply{Reservation: reservationProto(r)}, nil
}

// ToProto is the API form of p.
func ToProto(p *biz.Product) *v1.Product {
	return &v1.Product{
		Id:          p.ID,
		Name:        p.Name,
		Description: p.Description,
		Price:       biz.FormatPrice(p.PriceCents),
		Stock:       p.Stock,
		CreatedAt:   p.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt:   p.UpdatedAt.UTC().Format(time.RFC3339),
	}
}

var states = map[biz.ReservationState]v1.ReservationState{
	biz.Reserved:  v1.ReservationState_RESERVED,
	biz.Confirmed: v1.ReservationState_CONFIRMED,
	biz.Released:  v1.ReservationState_RELEASED,
}

func reservationProto(r *biz.Reservation) *v1.Reservation {
	out := &v1.Reservation{
		ReservationId: r.ID,
		State:         states[r.State],
		ExpiresAt:     r.ExpiresAt.UTC().Format(time.RFC3339),
		Items:         make([]*v1.StockItem, len(r.Items)),
	}
	for i, it := range r.Items {
		out.Items[i] = &v1.StockItem{ProductId: it.ProductID, Quantity: it.Quantity}
	}
	return out
}
