package biz_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"github.com/zelos-go/zelos/examples/shop/internal/db"
	"github.com/zelos-go/zelos/examples/shop/order/internal/data"
	productv1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	userv1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
)

// fakeUsers is a UserServiceClient over a fixed set of users.
type fakeUsers struct {
	userv1.UserServiceClient // methods the order service never calls panic
	users                    map[string]string
	err                      error // if set, every call fails with it
}

func (f *fakeUsers) GetUser(_ context.Context, in *userv1.GetUserRequest, _ ...grpc.CallOption) (*userv1.GetUserReply, error) {
	if f.err != nil {
		return nil, f.err
	}
	name, ok := f.users[in.GetId()]
	if !ok {
		return nil, userv1.ErrorUserNotFound("user: no user %s", in.GetId())
	}
	return &userv1.GetUserReply{User: &userv1.User{Id: in.GetId(), Name: name}}, nil
}

// fakeProducts is a ProductServiceClient keeping stock and reservations
// as the product service documents its reservation protocol.
type fakeProducts struct {
	productv1.ProductServiceClient

	mu       sync.Mutex
	products map[string]*productv1.Product
	res      map[string]*productv1.Reservation
	// down, when set, fails the calls of the method named before they
	// reach the stock; lost fails them after (the reply is lost).
	down, lost map[string]error
	calls      map[string]int
}

func newFakeProducts(products ...*productv1.Product) *fakeProducts {
	f := &fakeProducts{
		products: map[string]*productv1.Product{},
		res:      map[string]*productv1.Reservation{},
		down:     map[string]error{},
		lost:     map[string]error{},
		calls:    map[string]int{},
	}
	for _, p := range products {
		f.products[p.Id] = p
	}
	return f
}

func (f *fakeProducts) stock(id string) int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.products[id].Stock
}

func (f *fakeProducts) state(rid string) productv1.ReservationState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.res[rid]; ok {
		return r.State
	}
	return productv1.ReservationState_RESERVATION_STATE_UNSPECIFIED
}

func (f *fakeProducts) setDown(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.down, method)
	} else {
		f.down[method] = err
	}
}

func (f *fakeProducts) setLost(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.lost, method)
	} else {
		f.lost[method] = err
	}
}

func (f *fakeProducts) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeProducts) ReserveStock(_ context.Context, in *productv1.ReserveStockRequest, _ ...grpc.CallOption) (*productv1.ReserveStockReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["reserve"]++
	if err := f.down["reserve"]; err != nil {
		return nil, err
	}
	reply := func() *productv1.ReserveStockReply {
		out := &productv1.ReserveStockReply{Reservation: f.res[in.ReservationId]}
		for _, it := range in.Items {
			out.Products = append(out.Products, f.products[it.ProductId])
		}
		return out
	}
	if r, ok := f.res[in.ReservationId]; ok {
		if r.State == productv1.ReservationState_RELEASED {
			return nil, productv1.ErrorReservationClosed("product: reservation %s was released", in.ReservationId)
		}
		return reply(), f.lost["reserve"]
	}
	for _, it := range in.Items {
		p, ok := f.products[it.ProductId]
		if !ok {
			return nil, productv1.ErrorProductNotFound("product: no product %s", it.ProductId)
		}
		if p.Stock < it.Quantity {
			return nil, productv1.ErrorInsufficientStock("product: %d of %s in stock", p.Stock, p.Id)
		}
	}
	for _, it := range in.Items {
		f.products[it.ProductId].Stock -= it.Quantity
	}
	f.res[in.ReservationId] = &productv1.Reservation{ReservationId: in.ReservationId, Items: in.Items, State: productv1.ReservationState_RESERVED}
	return reply(), f.lost["reserve"]
}

func (f *fakeProducts) ConfirmStock(_ context.Context, in *productv1.ConfirmStockRequest, _ ...grpc.CallOption) (*productv1.ConfirmStockReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["confirm"]++
	if err := f.down["confirm"]; err != nil {
		return nil, err
	}
	r, ok := f.res[in.ReservationId]
	if !ok {
		return nil, productv1.ErrorReservationNotFound("product: no reservation %s", in.ReservationId)
	}
	if r.State == productv1.ReservationState_RELEASED {
		return nil, productv1.ErrorReservationClosed("product: reservation %s was released", in.ReservationId)
	}
	r.State = productv1.ReservationState_CONFIRMED
	return &productv1.ConfirmStockReply{Reservation: r}, f.lost["confirm"]
}

func (f *fakeProducts) ReleaseStock(_ context.Context, in *productv1.ReleaseStockRequest, _ ...grpc.CallOption) (*productv1.ReleaseStockReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["release"]++
	if err := f.down["release"]; err != nil {
		return nil, err
	}
	r, ok := f.res[in.ReservationId]
	switch {
	case !ok:
		r = &productv1.Reservation{ReservationId: in.ReservationId, State: productv1.ReservationState_RELEASED}
		f.res[in.ReservationId] = r
	case r.State == productv1.ReservationState_CONFIRMED:
		return nil, productv1.ErrorReservationClosed("product: reservation %s was confirmed", in.ReservationId)
	case r.State == productv1.ReservationState_RESERVED:
		for _, it := range r.Items {
			f.products[it.ProductId].Stock += it.Quantity
		}
		r.State = productv1.ReservationState_RELEASED
	}
	return &productv1.ReleaseStockReply{Reservation: r}, f.lost["release"]
}

// expire releases a reservation as the product service does when its TTL
// runs out.
func (f *fakeProducts) expire(rid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.res[rid]
	for _, it := range r.Items {
		f.products[it.ProductId].Stock += it.Quantity
	}
	r.State = productv1.ReservationState_RELEASED
}

// newRepo returns an order repository on a fresh SQLite file.
func newRepo(t *testing.T, opts ...data.Option) *data.OrderRepo {
	t.Helper()
	g, closeDB, err := db.Open(context.Background(), "sqlite", "", db.Dir(filepath.Join(t.TempDir(), "data")), db.Name("order"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeDB)
	if err := data.Migrate(g); err != nil {
		t.Fatal(err)
	}
	return data.NewOrderRepo(g, opts...)
}

func dataClock(c *clock) data.Option { return data.Clock(c.Now) }
