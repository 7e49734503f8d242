// Package biz is the order service's business layer: creating an order
// checks the user, reserves the stock, commits the order and confirms the
// reservation, in that order, so that no failure between the steps loses
// or invents stock.
//
// An order's life, kept in its Status and StockSettled:
//
//	pending ──reserve ok, commit──▶ confirmed ──ConfirmStock──▶ confirmed, settled
//	   │
//	   └──stock refused, commit failed, or pending too long──▶ failed ──ReleaseStock──▶ failed, settled
//
// The order row is written, pending, before the stock is reserved, so a
// reservation is never taken for an order nobody knows about. The
// reservation ID is derived from the order ID, so a retry, a resumed
// CreateOrder or the recovery loop reserve the same stock once. Every
// change of Status is a conditional update from the status it was read in
// (OrderRepo.Transition): when a request and the recovery loop race, one
// decides and the other follows what it decided. Only a confirmed order
// is ever confirmed at the product service, and only a failed one
// released.
//
// Recover, run in a loop by the service, finishes what a crash or an
// outage of the product service left undone: it reserves again (the same
// reservation) for pending orders older than a grace period and fails
// those pending longer than PendingTimeout, confirms confirmed orders and
// releases failed ones that are not settled.
package biz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/internal/page"
	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	productv1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	userv1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/log"
)

// Status is where an order is in its life.
type Status string

// The statuses of an order.
const (
	// StatusPending: the order is saved and its stock is being reserved.
	// It is not an order yet: it becomes confirmed or failed.
	StatusPending Status = "pending"
	// StatusConfirmed: the stock was reserved and the order committed.
	StatusConfirmed Status = "confirmed"
	// StatusFailed: the order will not be fulfilled; its stock, if any
	// was reserved, is given back.
	StatusFailed Status = "failed"
)

// Limits of a CreateOrder request.
const (
	// MaxItems is the most products one order may name.
	MaxItems = 50
	// MaxQuantity is the most of one product one order may ask for.
	MaxQuantity = 10_000
	// MaxIDLen is the longest user or product ID accepted.
	MaxIDLen = 64
	// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
	MaxIdempotencyKeyLen = 128
)

// Item is one product of an order.
type Item struct {
	ProductID   string
	ProductName string
	Quantity    int32
	// Price is the unit price the product service reserved the stock at;
	// zero while the order is pending.
	Price Money
}

// Total is the item's price times its quantity.
func (it Item) Total() Money {
	t, _ := it.Price.Times(it.Quantity) // bounded by maxMoney and MaxQuantity
	return t
}

// Order is a user's order.
type Order struct {
	ID     string
	UserID string
	Items  []Item
	Status Status
	Total  Money
	// IdempotencyKey is the client's key, "" if it sent none; unique per
	// user. RequestHash tells a retry from another request under the same
	// key.
	IdempotencyKey string
	RequestHash    string
	// StockSettled reports that the product service acknowledged the
	// outcome: the reservation was confirmed (confirmed orders) or
	// released (failed orders).
	StockSettled bool
	// Failure is why a failed order failed, as the error CreateOrder
	// returned; nil otherwise.
	Failure   *errors.Error
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ReservationID is the ID of the order's stock reservation at the product
// service. It is derived from the order ID, so every retry and every
// recovery of the order names the same reservation.
func (o *Order) ReservationID() string { return "order-" + o.ID }

// ErrNotFound is returned by OrderRepo.Get for an unknown ID.
var ErrNotFound = v1.ErrorOrderNotFound("order: no such order")

// Update is what a Transition writes besides the status.
type Update struct {
	Items   []Item        // if not nil, replaces the items (prices known once reserved)
	Total   *Money        // if not nil, the new total
	Failure *errors.Error // the failure of a failed order
}

// OrderRepo stores orders. Implementations must be safe for concurrent
// use.
type OrderRepo interface {
	// Create saves o, pending, with a new ID and its items. If o has an
	// IdempotencyKey that the user used already, Create saves nothing and
	// returns the existing order and created false (the unique index on
	// user and key decides, so two concurrent requests create one order).
	Create(ctx context.Context, o *Order) (saved *Order, created bool, err error)
	// Get returns the order with its items, or ErrNotFound.
	Get(ctx context.Context, id string) (*Order, error)
	// ListByUser returns a page of the user's orders, newest first, and
	// how many orders the user has.
	ListByUser(ctx context.Context, userID string, offset, limit int) ([]*Order, int, error)
	// Transition moves the order from status from to status to and applies
	// u, only if it is in from. It reports whether it did.
	Transition(ctx context.Context, id string, from, to Status, u Update) (bool, error)
	// Settle records that the order's reservation was confirmed or
	// released.
	Settle(ctx context.Context, id string) error
	// ListUnsettled returns up to limit orders last updated before before
	// that still need work: pending ones, and confirmed or failed ones not
	// settled. Oldest first.
	ListUnsettled(ctx context.Context, before time.Time, limit int) ([]*Order, error)
}

// Step names a point between the steps of CreateOrder, for StepHook.
type Step string

// The steps StepHook is called at.
const (
	// StepReserved: the stock is reserved and the order not yet committed.
	// An error from the hook fails the commit.
	StepReserved Step = "reserved"
	// StepCommitted: the order is committed and the reservation not yet
	// confirmed. An error from the hook fails the confirmation.
	StepCommitted Step = "committed"
)

// Option configures an OrderUsecase.
type Option func(*OrderUsecase)

// PendingTimeout sets how long an order may stay pending before Recover
// fails it and releases its stock. It must be well below the product
// service's reservation TTL (10 minutes by default). The default is 2
// minutes.
func PendingTimeout(d time.Duration) Option { return func(uc *OrderUsecase) { uc.pendingTimeout = d } }

// RecoverGrace sets how long Recover leaves an order alone after its last
// change, so that it does not compete with the request still working on
// it. The default is 5 seconds.
func RecoverGrace(d time.Duration) Option { return func(uc *OrderUsecase) { uc.grace = d } }

// Clock sets the clock. The default is time.Now.
func Clock(now func() time.Time) Option { return func(uc *OrderUsecase) { uc.now = now } }

// StepHook sets a function called between the steps of an order, to
// inject failures in tests (stopping the product service between reserve
// and confirm, say). An error it returns is the step's error.
func StepHook(f func(ctx context.Context, step Step, o *Order) error) Option {
	return func(uc *OrderUsecase) { uc.hook = f }
}

// OrderUsecase creates and finds orders.
type OrderUsecase struct {
	repo           OrderRepo
	users          userv1.UserServiceClient
	products       productv1.ProductServiceClient
	log            *log.Helper
	pendingTimeout time.Duration
	grace          time.Duration
	now            func() time.Time
	hook           func(ctx context.Context, step Step, o *Order) error
}

// NewOrderUsecase returns the order use case over repo, finding users and
// products through the given clients.
func NewOrderUsecase(repo OrderRepo, users userv1.UserServiceClient, products productv1.ProductServiceClient, logger log.Logger, opts ...Option) *OrderUsecase {
	uc := &OrderUsecase{
		repo:           repo,
		users:          users,
		products:       products,
		log:            log.NewHelper(logger),
		pendingTimeout: 2 * time.Minute,
		grace:          5 * time.Second,
		now:            time.Now,
		hook:           func(context.Context, Step, *Order) error { return nil },
	}
	for _, o := range opts {
		o(uc)
	}
	return uc
}

// CreateRequest is a CreateOrder request.
type CreateRequest struct {
	UserID string
	Items  []Item // ProductID and Quantity
	// IdempotencyKey, if not "", makes a retried request return the order
	// the first one created.
	IdempotencyKey string
}

// CreateOrder creates an order and returns it with its user. With an
// idempotency key already used by the user for the same request, it
// returns that order (finishing it first if it is still pending); for
// another request it is IDEMPOTENCY_KEY_REUSED. An order whose stock the
// product service refused fails with the product service's error
// (INSUFFICIENT_STOCK, PRODUCT_NOT_FOUND); one whose stock could not be
// reserved because a service did not answer is left pending, for a retry
// with the same key or the recovery loop to finish, and CreateOrder
// returns DEPENDENCY_UNAVAILABLE with its ID in the metadata.
func (uc *OrderUsecase) CreateOrder(ctx context.Context, req CreateRequest) (*Order, *userv1.User, error) {
	items, err := normalize(req)
	if err != nil {
		return nil, nil, err
	}
	reply, err := uc.users.GetUser(ctx, &userv1.GetUserRequest{Id: req.UserID})
	if err != nil {
		return nil, nil, dependencyError("user", err)
	}
	o, created, err := uc.repo.Create(ctx, &Order{
		UserID:         req.UserID,
		Items:          items,
		Status:         StatusPending,
		IdempotencyKey: req.IdempotencyKey,
		RequestHash:    requestHash(req.UserID, items),
	})
	if err != nil {
		return nil, nil, err
	}
	if !created && o.RequestHash != requestHash(req.UserID, items) {
		return nil, nil, v1.ErrorIdempotencyKeyReused("order: the Idempotency-Key %q was used for another order", req.IdempotencyKey)
	}
	o, _, err = uc.advance(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	switch o.Status {
	case StatusFailed:
		if o.Failure == nil {
			return nil, nil, v1.ErrorOrderStoreFailed("order: order %s failed for a reason not recorded", o.ID)
		}
		return nil, nil, o.Failure
	case StatusPending:
		// The reservation's outcome is unknown; the order is finished by a
		// retry with the same key or by Recover.
		return nil, nil, v1.ErrorDependencyUnavailable("order: the product service did not answer; order %s is pending", o.ID).
			WithMetadata(map[string]string{"order_id": o.ID})
	}
	return o, reply.GetUser(), nil
}

// normalize checks a request and merges items that name the same product.
func normalize(req CreateRequest) ([]Item, error) {
	if req.UserID == "" {
		return nil, v1.ErrorInvalidOrder("order: user_id is required")
	}
	if len(req.IdempotencyKey) > MaxIdempotencyKeyLen {
		return nil, v1.ErrorInvalidOrder("order: the Idempotency-Key is longer than %d bytes", MaxIdempotencyKeyLen)
	}
	if len(req.Items) == 0 {
		return nil, v1.ErrorInvalidOrder("order: items are required")
	}
	if len(req.UserID) > MaxIDLen {
		return nil, v1.ErrorInvalidOrder("order: user_id is longer than %d bytes", MaxIDLen)
	}
	var items []Item
	for _, it := range req.Items {
		if it.ProductID == "" || len(it.ProductID) > MaxIDLen {
			return nil, v1.ErrorInvalidOrder("order: an item's product_id is empty or longer than %d bytes", MaxIDLen)
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return nil, v1.ErrorInvalidOrder("order: quantity %d of product %s is not between 1 and %d", it.Quantity, it.ProductID, MaxQuantity)
		}
		i := slices.IndexFunc(items, func(x Item) bool { return x.ProductID == it.ProductID })
		if i < 0 {
			items = append(items, Item{ProductID: it.ProductID, Quantity: it.Quantity})
			continue
		}
		if items[i].Quantity += it.Quantity; items[i].Quantity > MaxQuantity {
			return nil, v1.ErrorInvalidOrder("order: quantity of product %s is above %d", it.ProductID, MaxQuantity)
		}
	}
	if len(items) > MaxItems {
		return nil, v1.ErrorInvalidOrder("order: more than %d products", MaxItems)
	}
	return items, nil
}

// requestHash identifies what was ordered, to tell a retry from another
// request under the same idempotency key.
func requestHash(userID string, items []Item) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q", userID)
	for _, it := range items {
		fmt.Fprintf(h, ",%q:%d", it.ProductID, it.Quantity)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// advance moves o as far as it can go now and returns it as it is after:
// pending orders are reserved and committed (or failed), confirmed and
// failed ones settled. An error is an error of the order store; a failure
// to reach the product service leaves the order where it is, for later,
// and advance reports it as stalled.
func (uc *OrderUsecase) advance(ctx context.Context, o *Order) (_ *Order, stalled bool, _ error) {
	// Each pass takes one step; a lost Transition reloads the order and
	// follows what the winner decided. Pending to confirmed to settled is
	// two steps, one more for a lost race.
	for range 4 {
		var next *Order
		var err error
		switch {
		case o.Status == StatusPending:
			next, err = uc.reserve(ctx, o)
		case !o.StockSettled:
			next, err = uc.settle(ctx, o)
		default:
			return o, false, nil
		}
		if err != nil || next == nil {
			return o, err == nil, err
		}
		o = next
	}
	return o, false, nil
}

// reserve reserves o's stock and commits the order. It returns the order
// as it is after, or nil if it could not go on now (the product service
// did not answer).
func (uc *OrderUsecase) reserve(ctx context.Context, o *Order) (*Order, error) {
	req := &productv1.ReserveStockRequest{ReservationId: o.ReservationID()}
	for _, it := range o.Items {
		req.Items = append(req.Items, &productv1.StockItem{ProductId: it.ProductID, Quantity: it.Quantity})
	}
	reply, err := uc.products.ReserveStock(ctx, req)
	if err != nil {
		if !definite(err) {
			uc.log.WithContext(ctx).Warnf("order %s: reserving stock: %v (left pending)", o.ID, err)
			return nil, nil
		}
		// The product service refused: nothing is reserved. The release
		// still follows, as it leaves a closed reservation behind that a
		// delayed retry of this reserve cannot take stock from.
		return uc.fail(ctx, o, StatusPending, errors.FromError(err))
	}
	items, total, err := priced(o.Items, reply.GetProducts())
	if err != nil {
		return uc.fail(ctx, o, StatusPending, errors.FromError(err))
	}
	if err := uc.hook(ctx, StepReserved, o); err != nil {
		uc.log.WithContext(ctx).Errorf("order %s: commit: %v", o.ID, err)
		return uc.fail(ctx, o, StatusPending, v1.ErrorOrderStoreFailed("order: the order could not be saved").WithCause(err))
	}
	ok, err := uc.repo.Transition(ctx, o.ID, StatusPending, StatusConfirmed, Update{Items: items, Total: &total})
	if err != nil {
		// Whether the commit landed is unknown: leave the order pending;
		// Recover reserves again (the same reservation) and commits.
		return nil, err
	}
	if !ok {
		return uc.repo.Get(ctx, o.ID)
	}
	o.Status, o.Items, o.Total = StatusConfirmed, items, total
	if err := uc.hook(ctx, StepCommitted, o); err != nil {
		uc.log.WithContext(ctx).Warnf("order %s: %v (confirmation left to recovery)", o.ID, err)
		return nil, nil
	}
	return o, nil
}

// fail moves o from status from to failed with the error e.
func (uc *OrderUsecase) fail(ctx context.Context, o *Order, from Status, e *errors.Error) (*Order, error) {
	ok, err := uc.repo.Transition(ctx, o.ID, from, StatusFailed, Update{Failure: e})
	if err != nil {
		return nil, err
	}
	if !ok {
		return uc.repo.Get(ctx, o.ID)
	}
	o.Status, o.Failure = StatusFailed, e
	return o, nil
}

// settle confirms a confirmed order's reservation, or releases a failed
// one's. It returns nil when the product service did not answer.
func (uc *OrderUsecase) settle(ctx context.Context, o *Order) (*Order, error) {
	rid := o.ReservationID()
	var err error
	if o.Status == StatusConfirmed {
		_, err = uc.products.ConfirmStock(ctx, &productv1.ConfirmStockRequest{ReservationId: rid})
		if productv1.IsReservationClosed(err) {
			// The product service released the reservation when its TTL
			// ran out: the stock is back on sale, so the order cannot be
			// fulfilled. Fail it; it is settled, since nothing is held.
			uc.log.WithContext(ctx).Errorf("order %s: the reservation expired before it was confirmed; the order fails", o.ID)
			ok, terr := uc.repo.Transition(ctx, o.ID, StatusConfirmed, StatusFailed,
				Update{Failure: v1.ErrorOrderExpired("order: the stock reservation expired before it was confirmed")})
			if terr != nil || !ok {
				return nil, terr
			}
			err = nil
		}
	} else {
		_, err = uc.products.ReleaseStock(ctx, &productv1.ReleaseStockRequest{ReservationId: rid})
	}
	if err != nil {
		uc.log.WithContext(ctx).Warnf("order %s (%s): settling stock reservation %s: %v (left to recovery)", o.ID, o.Status, rid, err)
		return nil, nil
	}
	if err := uc.repo.Settle(ctx, o.ID); err != nil {
		return nil, err
	}
	return uc.repo.Get(ctx, o.ID)
}

// priced returns the items with the names and prices the product service
// reserved them at, and the total.
func priced(items []Item, products []*productv1.Product) ([]Item, Money, error) {
	out := slices.Clone(items)
	var total Money
	for i := range out {
		j := slices.IndexFunc(products, func(p *productv1.Product) bool { return p.GetId() == out[i].ProductID })
		if j < 0 {
			return nil, 0, v1.ErrorBadDependencyReply("order: the product service reserved product %s without describing it", out[i].ProductID)
		}
		price, err := ParseMoney(products[j].GetPrice())
		if err != nil {
			return nil, 0, v1.ErrorBadDependencyReply("order: product %s has the price %q, not a decimal with at most two decimals", out[i].ProductID, products[j].GetPrice())
		}
		out[i].ProductName, out[i].Price = products[j].GetName(), price
		t, ok := price.Times(out[i].Quantity)
		if ok {
			total, ok = total.Add(t)
		}
		if !ok {
			return nil, 0, v1.ErrorInvalidOrder("order: the total is too large")
		}
	}
	return out, total, nil
}

// definite reports whether err is an answer of the product service (a
// 4xx: the stock is refused and nothing was reserved), rather than a
// failure to get one (a 5xx, a timeout, an open breaker), after which the
// reservation may or may not exist.
func definite(err error) bool {
	c := errors.Code(err)
	return c >= 400 && c < 500 && c != 408 && c != 429
}

// dependencyError is err of the service dep as CreateOrder returns it:
// answers (4xx, such as USER_NOT_FOUND) as they are, failures to get one
// as DEPENDENCY_UNAVAILABLE.
func dependencyError(dep string, err error) error {
	if definite(err) {
		return err
	}
	return v1.ErrorDependencyUnavailable("order: the %s service did not answer", dep).WithCause(err)
}

// GetOrder returns one order.
func (uc *OrderUsecase) GetOrder(ctx context.Context, id string) (*Order, error) {
	if id == "" {
		return nil, v1.ErrorInvalidOrder("order: id is required")
	}
	return uc.repo.Get(ctx, id)
}

// ListOrders returns a page of the user's orders, newest first, and the
// number of the user's orders. page counts from 1 (below 1 means 1);
// pageSize below 1 means 20, above 100 means 100, as every shop service
// pages (internal/page).
func (uc *OrderUsecase) ListOrders(ctx context.Context, userID string, pageNumber, pageSize int32) ([]*Order, int, error) {
	if userID == "" {
		return nil, 0, v1.ErrorInvalidOrder("order: user_id is required")
	}
	offset, limit := page.Bounds(pageNumber, pageSize)
	return uc.repo.ListByUser(ctx, userID, offset, limit)
}

// Recover finishes the orders left unfinished by crashes and outages
// (see the package documentation) and returns how many it looked at. It
// stops at the first error of the order store, and at the first order the
// product service does not answer for: the others would wait for it too,
// each up to the client's timeout, and the next pass tries again.
func (uc *OrderUsecase) Recover(ctx context.Context) (int, error) {
	now := uc.now()
	orders, err := uc.repo.ListUnsettled(ctx, now.Add(-uc.grace), 100)
	if err != nil {
		return 0, err
	}
	for i, o := range orders {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		if o.Status == StatusPending && now.Sub(o.CreatedAt) > uc.pendingTimeout {
			uc.log.WithContext(ctx).Warnf("order %s: pending for %s; it fails and its stock is released", o.ID, now.Sub(o.CreatedAt).Round(time.Second))
			if o, err = uc.fail(ctx, o, StatusPending, v1.ErrorOrderExpired("order: the stock could not be reserved in time")); err != nil {
				return i, err
			}
		}
		_, stalled, err := uc.advance(ctx, o)
		if err != nil || stalled {
			return i + 1, err
		}
	}
	return len(orders), nil
}
