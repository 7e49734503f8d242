package service_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	v1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/product/internal/data"
	"github.com/zelos-go/zelos/examples/shop/product/internal/service"
	"github.com/zelos-go/zelos/log"
)

func newService(t *testing.T) *service.ProductService {
	t.Helper()
	d, closeData, err := data.NewData(context.Background(), conf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeData)
	return service.NewProductService(biz.NewProductUsecase(data.NewProductRepo(d), time.Minute, log.NewStdLogger(io.Discard)))
}

func TestProductService(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	cr, err := s.CreateProduct(ctx, &v1.CreateProductRequest{Name: "Mug", Description: "d", Price: "12.5", Stock: 4})
	if err != nil {
		t.Fatal(err)
	}
	p := cr.GetProduct()
	if p.GetPrice() != "12.50" || p.GetStock() != 4 || p.GetCreatedAt() == "" {
		t.Fatalf("CreateProduct = %v", p)
	}
	id := p.GetId()
	if g, err := s.GetProduct(ctx, &v1.GetProductRequest{Id: id}); err != nil || g.GetProduct().GetName() != "Mug" {
		t.Fatalf("GetProduct = %v, %v", g, err)
	}
	price := "13"
	if u, err := s.UpdateProduct(ctx, &v1.UpdateProductRequest{Id: id, Price: &price}); err != nil || u.GetProduct().GetPrice() != "13.00" {
		t.Fatalf("UpdateProduct = %v, %v", u, err)
	}
	if l, err := s.ListProducts(ctx, &v1.ListProductsRequest{Q: "mu"}); err != nil || l.GetTotal() != 1 {
		t.Fatalf("ListProducts = %v, %v", l, err)
	}
	if us, err := s.UpdateStock(ctx, &v1.UpdateStockRequest{ProductId: id, Quantity: -1}); err != nil || us.GetProduct().GetStock() != 3 {
		t.Fatalf("UpdateStock = %v, %v", us, err)
	}
	rs, err := s.ReserveStock(ctx, &v1.ReserveStockRequest{ReservationId: "r", Items: []*v1.StockItem{{ProductId: id, Quantity: 3}}})
	if err != nil || rs.GetReservation().GetState() != v1.ReservationState_RESERVED || rs.GetProducts()[0].GetStock() != 0 ||
		rs.GetReservation().GetItems()[0].GetQuantity() != 3 || rs.GetReservation().GetExpiresAt() == "" {
		t.Fatalf("ReserveStock = %v, %v", rs, err)
	}
	if rl, err := s.ReleaseStock(ctx, &v1.ReleaseStockRequest{ReservationId: "r"}); err != nil || rl.GetReservation().GetState() != v1.ReservationState_RELEASED {
		t.Fatalf("ReleaseStock = %v, %v", rl, err)
	}
	if _, err := s.ReserveStock(ctx, &v1.ReserveStockRequest{ReservationId: "r2", Items: []*v1.StockItem{{ProductId: id, Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	if cf, err := s.ConfirmStock(ctx, &v1.ConfirmStockRequest{ReservationId: "r2"}); err != nil || cf.GetReservation().GetState() != v1.ReservationState_CONFIRMED {
		t.Fatalf("ConfirmStock = %v, %v", cf, err)
	}
	if _, err := s.DeleteProduct(ctx, &v1.DeleteProductRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get":     second(s.GetProduct(ctx, &v1.GetProductRequest{Id: id})),
		"update":  second(s.UpdateProduct(ctx, &v1.UpdateProductRequest{Id: id, Price: &price})),
		"delete":  second(s.DeleteProduct(ctx, &v1.DeleteProductRequest{Id: id})),
		"stock":   second(s.UpdateStock(ctx, &v1.UpdateStockRequest{ProductId: id, Quantity: 1})),
		"reserve": second(s.ReserveStock(ctx, &v1.ReserveStockRequest{ReservationId: "r3", Items: []*v1.StockItem{{ProductId: id, Quantity: 1}}})),
	} {
		if !v1.IsProductNotFound(err) {
			t.Errorf("%s of a deleted product = %v, want PRODUCT_NOT_FOUND", name, err)
		}
	}
	for name, err := range map[string]error{
		"create":  second(s.CreateProduct(ctx, &v1.CreateProductRequest{Name: "x", Price: "x"})),
		"confirm": second(s.ConfirmStock(ctx, &v1.ConfirmStockRequest{})),
		"release": second(s.ReleaseStock(ctx, &v1.ReleaseStockRequest{})),
	} {
		if !v1.IsInvalidProduct(err) {
			t.Errorf("%s = %v, want INVALID_PRODUCT", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }
