package biz

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zelos-go/zelos/examples/shop/internal/ids"
	v1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	"github.com/zelos-go/zelos/log"
)

// Product is one product of the catalogue.
type Product struct {
	ID          string
	Name        string
	Description string
	PriceCents  int64
	Stock       int32
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ProductUpdate is what UpdateProduct changes: the fields that are not
// nil.
type ProductUpdate struct {
	Name        *string
	Description *string
	PriceCents  *int64
}

// StockItem is a quantity of one product.
type StockItem struct {
	ProductID string
	Quantity  int32
}

// ReservationState is where a reservation is in its life.
type ReservationState string

// The states of a reservation: reserved (stock taken), then confirmed
// (sold) or released (given back); both are final.
const (
	Reserved  ReservationState = "RESERVED"
	Confirmed ReservationState = "CONFIRMED"
	Released  ReservationState = "RELEASED"
)

// Reservation is stock taken under a caller's id.
type Reservation struct {
	ID        string
	Items     []StockItem // sorted by ProductID
	State     ReservationState
	ExpiresAt time.Time
}

// What a ProductRepo returns for the cases the use cases tell apart.
var (
	ErrNotFound             = errors.New("biz: product not found")
	ErrInsufficientStock    = errors.New("biz: insufficient stock")
	ErrReservationNotFound  = errors.New("biz: reservation not found")
	ErrReservationConflict  = errors.New("biz: reservation id used with other items")
	ErrReservationClosed    = errors.New("biz: reservation closed")
	ErrStockRequestConflict = errors.New("biz: stock request id used with another change")
	ErrStockOverflow        = errors.New("biz: stock would exceed 2147483647")
)

// ProductRepo stores products and their stock. Every stock change is
// atomic: a decrement happens only if the stock stays at zero or above,
// checked and made in one statement.
type ProductRepo interface {
	Create(ctx context.Context, p *Product) error
	// Get returns the product, or ErrNotFound.
	Get(ctx context.Context, id string) (*Product, error)
	Update(ctx context.Context, id string, u ProductUpdate, now time.Time) (*Product, error)
	Delete(ctx context.Context, id string) error
	// List returns limit products from offset whose name contains q
	// (case-insensitive, no wildcards: q is matched literally), oldest
	// first, and how many match in all.
	List(ctx context.Context, q string, offset, limit int) ([]*Product, int, error)
	// AddStock adds delta to the stock: ErrInsufficientStock if that
	// takes it below zero. A requestID seen before (non-empty) applies
	// nothing and returns the product as it is.
	AddStock(ctx context.Context, id string, delta int32, requestID string, now time.Time) (*Product, error)
	// Reserve takes the stock of r.Items, all or none, and stores r
	// (RESERVED, expiring at r.ExpiresAt). An r.ID stored already is
	// returned as it is if its items are the same, ErrReservationConflict
	// if not, ErrReservationClosed if released. It returns the products
	// after the change.
	Reserve(ctx context.Context, r *Reservation, now time.Time) (*Reservation, []*Product, error)
	// Confirm makes a RESERVED reservation CONFIRMED; a confirmed one is
	// returned as it is; a released (or expired at now) one is
	// ErrReservationClosed; an unknown one ErrReservationNotFound.
	Confirm(ctx context.Context, id string, now time.Time) (*Reservation, error)
	// Release gives a RESERVED reservation's stock back; a released one
	// is returned as it is; a confirmed one is ErrReservationClosed; an
	// unknown id is stored as released, with no items.
	Release(ctx context.Context, id string, now time.Time) (*Reservation, error)
	// Expire releases the RESERVED reservations that expired before now,
	// and returns how many.
	Expire(ctx context.Context, now time.Time) (int, error)
}

// Limits on what a product is created with.
const (
	MaxName           = 200
	MaxDescription    = 2000
	MaxReservationID  = 128
	MaxReservationLen = 100 // items per reservation
)

// ProductUsecase is the catalogue and its stock.
type ProductUsecase struct {
	repo ProductRepo
	ttl  time.Duration
	log  *log.Helper
	now  func() time.Time
}

// DefaultReservationTTL is how long a reservation waits for ConfirmStock
// when the configuration does not say.
const DefaultReservationTTL = 10 * time.Minute

// Option configures NewProductUsecase.
type Option func(*ProductUsecase)

// WithClock sets the clock; the default is time.Now. Tests move it past a
// reservation's expiry.
func WithClock(now func() time.Time) Option { return func(uc *ProductUsecase) { uc.now = now } }

// NewProductUsecase returns the use cases over repo; reservations not
// confirmed within ttl (DefaultReservationTTL when 0) are released.
func NewProductUsecase(repo ProductRepo, ttl time.Duration, logger log.Logger, opts ...Option) *ProductUsecase {
	if ttl <= 0 {
		ttl = DefaultReservationTTL
	}
	uc := &ProductUsecase{repo: repo, ttl: ttl, log: log.NewHelper(logger), now: time.Now}
	for _, o := range opts {
		o(uc)
	}
	return uc
}

// TTL is how long a reservation waits for ConfirmStock.
func (uc *ProductUsecase) TTL() time.Duration { return uc.ttl }

// Create adds a product.
func (uc *ProductUsecase) Create(ctx context.Context, name, description, price string, stock int32) (*Product, error) {
	name = strings.TrimSpace(name)
	if err := checkText(name, description); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, v1.ErrorInvalidProduct("name is required")
	}
	cents, err := ParsePrice(price)
	if err != nil {
		return nil, v1.ErrorInvalidProduct("%s", err.Error())
	}
	if stock < 0 {
		return nil, v1.ErrorInvalidProduct("stock %d is negative", stock)
	}
	now := uc.now().UTC()
	p := &Product{ID: ids.New(), Name: name, Description: description, PriceCents: cents, Stock: stock, CreatedAt: now, UpdatedAt: now}
	if err := uc.repo.Create(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func checkText(name, description string) error {
	switch {
	case utf8.RuneCountInString(name) > MaxName:
		return v1.ErrorInvalidProduct("name is longer than %d characters", MaxName)
	case utf8.RuneCountInString(description) > MaxDescription:
		return v1.ErrorInvalidProduct("description is longer than %d characters", MaxDescription)
	}
	return nil
}

// Get returns one product.
func (uc *ProductUsecase) Get(ctx context.Context, id string) (*Product, error) {
	p, err := uc.repo.Get(ctx, id)
	return p, mapErr(err, id)
}

// Update changes the fields given as strings (nil: unchanged).
func (uc *ProductUsecase) Update(ctx context.Context, id string, name, description, price *string) (*Product, error) {
	var u ProductUpdate
	if name != nil {
		n := strings.TrimSpace(*name)
		if n == "" {
			return nil, v1.ErrorInvalidProduct("name cannot be empty")
		}
		u.Name = &n
	}
	u.Description = description
	if err := checkText(deref(u.Name), deref(description)); err != nil {
		return nil, err
	}
	if price != nil {
		cents, err := ParsePrice(*price)
		if err != nil {
			return nil, v1.ErrorInvalidProduct("%s", err.Error())
		}
		u.PriceCents = &cents
	}
	p, err := uc.repo.Update(ctx, id, u, uc.now().UTC())
	return p, mapErr(err, id)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Delete removes a product.
func (uc *ProductUsecase) Delete(ctx context.Context, id string) error {
	return mapErr(uc.repo.Delete(ctx, id), id)
}

// List returns a page of the products whose name contains q.
func (uc *ProductUsecase) List(ctx context.Context, q string, offset, limit int) ([]*Product, int, error) {
	return uc.repo.List(ctx, strings.TrimSpace(q), offset, limit)
}

// UpdateStock adds quantity (negative: removes) to a product's stock.
func (uc *ProductUsecase) UpdateStock(ctx context.Context, id string, quantity int32, requestID string) (*Product, error) {
	if quantity == 0 {
		return nil, v1.ErrorInvalidProduct("quantity is zero")
	}
	if len(requestID) > MaxReservationID {
		return nil, v1.ErrorInvalidProduct("request_id is longer than %d bytes", MaxReservationID)
	}
	p, err := uc.repo.AddStock(ctx, id, quantity, requestID, uc.now().UTC())
	return p, mapErr(err, id)
}

// Reserve takes the stock of items under id, all or none.
func (uc *ProductUsecase) Reserve(ctx context.Context, id string, items []StockItem) (*Reservation, []*Product, error) {
	if err := checkReservationID(id); err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return nil, nil, v1.ErrorInvalidProduct("a reservation needs items")
	}
	if len(items) > MaxReservationLen {
		return nil, nil, v1.ErrorInvalidProduct("a reservation has at most %d items", MaxReservationLen)
	}
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b StockItem) int { return strings.Compare(a.ProductID, b.ProductID) })
	for i, it := range items {
		switch {
		case it.ProductID == "":
			return nil, nil, v1.ErrorInvalidProduct("item %d has no product_id", i)
		case it.Quantity < 1:
			return nil, nil, v1.ErrorInvalidProduct("item %s: quantity %d is below 1", it.ProductID, it.Quantity)
		case i > 0 && items[i-1].ProductID == it.ProductID:
			return nil, nil, v1.ErrorInvalidProduct("product %s is named twice", it.ProductID)
		}
	}
	now := uc.now().UTC()
	r, ps, err := uc.repo.Reserve(ctx, &Reservation{ID: id, Items: items, State: Reserved, ExpiresAt: now.Add(uc.ttl)}, now)
	if err != nil {
		return nil, nil, mapErr(err, id)
	}
	return r, ps, nil
}

// Confirm makes a reservation final.
func (uc *ProductUsecase) Confirm(ctx context.Context, id string) (*Reservation, error) {
	if err := checkReservationID(id); err != nil {
		return nil, err
	}
	r, err := uc.repo.Confirm(ctx, id, uc.now().UTC())
	return r, mapErr(err, id)
}

// Release gives a reservation's stock back.
func (uc *ProductUsecase) Release(ctx context.Context, id string) (*Reservation, error) {
	if err := checkReservationID(id); err != nil {
		return nil, err
	}
	r, err := uc.repo.Release(ctx, id, uc.now().UTC())
	return r, mapErr(err, id)
}

// Expire releases the reservations whose TTL passed.
func (uc *ProductUsecase) Expire(ctx context.Context) (int, error) {
	n, err := uc.repo.Expire(ctx, uc.now().UTC())
	if n > 0 {
		uc.log.WithContext(ctx).Infow("msg", "released expired reservations", "count", n)
	}
	return n, err
}

func checkReservationID(id string) error {
	switch {
	case id == "":
		return v1.ErrorInvalidProduct("reservation_id is required")
	case len(id) > MaxReservationID:
		return v1.ErrorInvalidProduct("reservation_id is longer than %d bytes", MaxReservationID)
	}
	return nil
}

// mapErr turns the repository's errors into the API's.
func mapErr(err error, id string) error {
	var nf *NotFoundError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return v1.ErrorProductNotFound("no product %s", nf.ID)
	case errors.Is(err, ErrNotFound):
		return v1.ErrorProductNotFound("no product %s", id)
	case errors.Is(err, ErrInsufficientStock):
		var is *InsufficientStockError
		if errors.As(err, &is) {
			return v1.ErrorInsufficientStock("product %s has %d in stock, %d asked", is.ID, is.Stock, is.Asked)
		}
		return v1.ErrorInsufficientStock("not enough stock of %s", id)
	case errors.Is(err, ErrReservationNotFound):
		return v1.ErrorReservationNotFound("no reservation %s", id)
	case errors.Is(err, ErrReservationConflict):
		return v1.ErrorReservationConflict("reservation %s exists with other items", id)
	case errors.Is(err, ErrStockRequestConflict):
		return v1.ErrorReservationConflict("request %s was made with another change", id)
	case errors.Is(err, ErrStockOverflow):
		return v1.ErrorInvalidProduct("the stock of %s would exceed 2147483647", id)
	case errors.Is(err, ErrReservationClosed):
		return v1.ErrorReservationClosed("reservation %s is closed", id)
	}
	return err
}

// NotFoundError names the product that does not exist (in a reservation
// of several). It matches ErrNotFound.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string        { return "biz: product " + e.ID + " not found" }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// InsufficientStockError says which product lacks stock. It matches
// ErrInsufficientStock.
type InsufficientStockError struct {
	ID           string
	Stock, Asked int32
}

func (e *InsufficientStockError) Error() string { return "biz: insufficient stock of " + e.ID }
func (e *InsufficientStockError) Is(target error) bool {
	return target == ErrInsufficientStock
}
