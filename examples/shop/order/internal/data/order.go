// Package data stores the order service's orders with GORM (SQLite by
// default, MySQL or PostgreSQL by DSN): biz.OrderRepo.
package data

import (
	"context"
	stderrors "errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/internal/ids"
	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
)

// orderModel is a row of the orders table.
type orderModel struct {
	ID     string `gorm:"primaryKey;size:32"`
	UserID string `gorm:"size:64;not null;uniqueIndex:idx_orders_user_key,priority:1;index:idx_orders_user_created,priority:1"`
	// IdempotencyKey is NULL for a request without one: NULLs are
	// distinct in a unique index on SQLite, MySQL and PostgreSQL alike, so
	// only orders that carry a key are deduplicated.
	IdempotencyKey *string `gorm:"size:128;uniqueIndex:idx_orders_user_key,priority:2"`
	RequestHash    string  `gorm:"size:32;not null"`
	Status         string  `gorm:"size:16;not null"`
	StockSettled   bool    `gorm:"not null;index:idx_orders_unsettled,priority:1"`
	TotalCents     int64   `gorm:"not null"`
	FailCode       int
	FailReason     string           `gorm:"size:64"`
	FailMessage    string           `gorm:"size:512"`
	CreatedAt      time.Time        `gorm:"not null;index:idx_orders_user_created,priority:2"`
	UpdatedAt      time.Time        `gorm:"not null;index:idx_orders_unsettled,priority:2"`
	Items          []orderItemModel `gorm:"foreignKey:OrderID;constraint:OnDelete:CASCADE"`
}

func (orderModel) TableName() string { return "orders" }

// orderItemModel is a row of the order_items table.
type orderItemModel struct {
	OrderID     string `gorm:"primaryKey;size:32"`
	Position    int    `gorm:"primaryKey"`
	ProductID   string `gorm:"size:64;not null"`
	ProductName string `gorm:"size:255"`
	Quantity    int32  `gorm:"not null"`
	PriceCents  int64  `gorm:"not null"`
}

func (orderItemModel) TableName() string { return "order_items" }

// Migrate creates or updates the tables.
func Migrate(g *gorm.DB) error {
	if err := g.AutoMigrate(&orderModel{}, &orderItemModel{}); err != nil {
		return fmt.Errorf("data: migrate orders: %w", err)
	}
	return nil
}

// Option configures the repository.
type Option func(*OrderRepo)

// Clock sets the clock that stamps CreatedAt and UpdatedAt. The default
// is time.Now; times are stored in UTC.
func Clock(now func() time.Time) Option { return func(r *OrderRepo) { r.now = now } }

// OrderRepo is biz.OrderRepo on a GORM database.
type OrderRepo struct {
	db  *gorm.DB
	now func() time.Time
}

var _ biz.OrderRepo = (*OrderRepo)(nil)

// NewOrderRepo returns the repository over g, whose tables Migrate made.
func NewOrderRepo(g *gorm.DB, opts ...Option) *OrderRepo {
	r := &OrderRepo{db: g, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

func (r *OrderRepo) stamp() time.Time { return r.now().UTC() }

// Create implements biz.OrderRepo.
func (r *OrderRepo) Create(ctx context.Context, o *biz.Order) (*biz.Order, bool, error) {
	now := r.stamp()
	m := orderModel{
		ID:          ids.New(),
		UserID:      o.UserID,
		RequestHash: o.RequestHash,
		Status:      string(biz.StatusPending),
		TotalCents:  int64(o.Total),
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if o.IdempotencyKey != "" {
		m.IdempotencyKey = &o.IdempotencyKey
	}
	for i, it := range o.Items {
		m.Items = append(m.Items, itemModel(m.ID, i, it))
	}
	err := r.db.WithContext(ctx).Create(&m).Error
	if stderrors.Is(err, gorm.ErrDuplicatedKey) && m.IdempotencyKey != nil {
		var prev orderModel
		err := r.db.WithContext(ctx).Preload("Items", orderItems).
			Where("user_id = ? AND idempotency_key = ?", o.UserID, o.IdempotencyKey).Take(&prev).Error
		if err != nil {
			return nil, false, storeError("find the order of an idempotency key", err)
		}
		return toBiz(&prev), false, nil
	}
	if err != nil {
		return nil, false, storeError("create order", err)
	}
	return toBiz(&m), true, nil
}

func orderItems(db *gorm.DB) *gorm.DB { return db.Order("position") }

// Get implements biz.OrderRepo.
func (r *OrderRepo) Get(ctx context.Context, id string) (*biz.Order, error) {
	var m orderModel
	err := r.db.WithContext(ctx).Preload("Items", orderItems).Where("id = ?", id).Take(&m).Error
	if stderrors.Is(err, gorm.ErrRecordNotFound) {
		return nil, biz.ErrNotFound
	}
	if err != nil {
		return nil, storeError("get order", err)
	}
	return toBiz(&m), nil
}

// ListByUser implements biz.OrderRepo.
func (r *OrderRepo) ListByUser(ctx context.Context, userID string, offset, limit int) ([]*biz.Order, int, error) {
	var total int64
	db := r.db.WithContext(ctx)
	if err := db.Model(&orderModel{}).Where("user_id = ?", userID).Count(&total).Error; err != nil {
		return nil, 0, storeError("count orders", err)
	}
	var ms []orderModel
	err := db.Preload("Items", orderItems).Where("user_id = ?", userID).
		Order("created_at DESC, id DESC").Offset(offset).Limit(limit).Find(&ms).Error
	if err != nil {
		return nil, 0, storeError("list orders", err)
	}
	out := make([]*biz.Order, len(ms))
	for i := range ms {
		out[i] = toBiz(&ms[i])
	}
	return out, int(total), nil
}

// Transition implements biz.OrderRepo: one conditional UPDATE on the
// status decides, and the items are rewritten in the same transaction.
func (r *OrderRepo) Transition(ctx context.Context, id string, from, to biz.Status, u biz.Update) (bool, error) {
	set := map[string]any{"status": string(to), "updated_at": r.stamp()}
	if u.Total != nil {
		set["total_cents"] = int64(*u.Total)
	}
	if u.Failure != nil {
		set["fail_code"], set["fail_reason"], set["fail_message"] = int(u.Failure.Code), u.Failure.Reason, truncate(u.Failure.Message, 512)
	}
	moved := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&orderModel{}).Where("id = ? AND status = ?", id, string(from)).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		moved = true
		for i, it := range u.Items {
			err := tx.Model(&orderItemModel{}).Where("order_id = ? AND position = ?", id, i).
				Updates(map[string]any{"product_name": truncate(it.ProductName, 255), "price_cents": int64(it.Price)}).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, storeError("update order", err)
	}
	return moved, nil
}

// Settle implements biz.OrderRepo.
func (r *OrderRepo) Settle(ctx context.Context, id string) error {
	err := r.db.WithContext(ctx).Model(&orderModel{}).Where("id = ?", id).
		Updates(map[string]any{"stock_settled": true, "updated_at": r.stamp()}).Error
	if err != nil {
		return storeError("settle order", err)
	}
	return nil
}

// ListUnsettled implements biz.OrderRepo. Pending orders are never
// settled, so one indexed condition finds all three kinds.
func (r *OrderRepo) ListUnsettled(ctx context.Context, before time.Time, limit int) ([]*biz.Order, error) {
	var ms []orderModel
	err := r.db.WithContext(ctx).Preload("Items", orderItems).
		Where("stock_settled = ? AND updated_at < ?", false, before.UTC()).
		Order("updated_at, id").Limit(limit).Find(&ms).Error
	if err != nil {
		return nil, storeError("list unsettled orders", err)
	}
	out := make([]*biz.Order, len(ms))
	for i := range ms {
		out[i] = toBiz(&ms[i])
	}
	return out, nil
}

func itemModel(orderID string, pos int, it biz.Item) orderItemModel {
	return orderItemModel{
		OrderID:     orderID,
		Position:    pos,
		ProductID:   it.ProductID,
		ProductName: truncate(it.ProductName, 255),
		Quantity:    it.Quantity,
		PriceCents:  int64(it.Price),
	}
}

func toBiz(m *orderModel) *biz.Order {
	o := &biz.Order{
		ID:           m.ID,
		UserID:       m.UserID,
		Status:       biz.Status(m.Status),
		Total:        biz.Money(m.TotalCents),
		RequestHash:  m.RequestHash,
		StockSettled: m.StockSettled,
		CreatedAt:    m.CreatedAt.UTC(),
		UpdatedAt:    m.UpdatedAt.UTC(),
	}
	if m.IdempotencyKey != nil {
		o.IdempotencyKey = *m.IdempotencyKey
	}
	if m.FailReason != "" {
		o.Failure = errors.New(m.FailCode, m.FailReason, m.FailMessage)
	}
	for _, it := range m.Items {
		o.Items = append(o.Items, biz.Item{
			ProductID:   it.ProductID,
			ProductName: it.ProductName,
			Quantity:    it.Quantity,
			Price:       biz.Money(it.PriceCents),
		})
	}
	return o
}

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// storeError is a database failure as the service reports it: a 500
// whose cause (the driver's error, which may quote SQL) is logged, never
// sent.
func storeError(op string, err error) error {
	return v1.ErrorOrderStoreFailed("order: %s failed", op).WithCause(err)
}
