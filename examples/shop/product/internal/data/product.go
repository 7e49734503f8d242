package data

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
)

// productModel is the products table. The price is integer cents.
type productModel struct {
	ID          string `gorm:"primaryKey;size:64"`
	Name        string `gorm:"size:800;not null;index"`
	Description string `gorm:"type:text"`
	PriceCents  int64  `gorm:"not null"`
	Stock       int32  `gorm:"not null"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (productModel) TableName() string { return "products" }

// stockRequestModel remembers the request ids of UpdateStock, so that a
// retried request changes the stock once.
type stockRequestModel struct {
	ID        string `gorm:"primaryKey;size:128"`
	ProductID string `gorm:"size:64;not null"`
	Quantity  int32  `gorm:"not null"`
	CreatedAt time.Time
}

func (stockRequestModel) TableName() string { return "stock_requests" }

type productRepo struct{ d *Data }

// NewProductRepo returns the biz.ProductRepo over d.
func NewProductRepo(d *Data) biz.ProductRepo { return &productRepo{d: d} }

func (r *productRepo) Create(ctx context.Context, p *biz.Product) error {
	m := fromBiz(p)
	return r.d.DB.WithContext(ctx).Create(&m).Error
}

func (r *productRepo) Get(ctx context.Context, id string) (*biz.Product, error) {
	return get(r.d.DB.WithContext(ctx), id)
}

func get(tx *gorm.DB, id string) (*biz.Product, error) {
	var m productModel
	err := tx.Take(&m, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, &biz.NotFoundError{ID: id}
	}
	if err != nil {
		return nil, err
	}
	return toBiz(&m), nil
}

func (r *productRepo) Update(ctx context.Context, id string, u biz.ProductUpdate, now time.Time) (*biz.Product, error) {
	var out *biz.Product
	err := r.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cols := map[string]any{"updated_at": now}
		if u.Name != nil {
			cols["name"] = *u.Name
		}
		if u.Description != nil {
			cols["description"] = *u.Description
		}
		if u.PriceCents != nil {
			cols["price_cents"] = *u.PriceCents
		}
		res := tx.Model(&productModel{}).Where("id = ?", id).UpdateColumns(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return &biz.NotFoundError{ID: id}
		}
		var err error
		out, err = get(tx, id)
		return err
	})
	return out, err
}

func (r *productRepo) Delete(ctx context.Context, id string) error {
	res := r.d.DB.WithContext(ctx).Delete(&productModel{}, "id = ?", id)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return &biz.NotFoundError{ID: id}
	}
	return nil
}

// likeEscape is the LIKE escape character. Not a backslash: MySQL reads a
// backslash in a string literal as an escape of its own, the SQL standard
// (SQLite, PostgreSQL) does not, so '\' would mean different things.
const likeEscape = "!"

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

func (r *productRepo) List(ctx context.Context, q string, offset, limit int) ([]*biz.Product, int, error) {
	tx := r.d.DB.WithContext(ctx).Model(&productModel{})
	if q != "" {
		tx = tx.Where("LOWER(name) LIKE ? ESCAPE '"+likeEscape+"'", "%"+likeEscaper.Replace(strings.ToLower(q))+"%")
	}
	var total int64
	if err := tx.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var ms []productModel
	if err := tx.Order("created_at, id").Offset(offset).Limit(limit).Find(&ms).Error; err != nil {
		return nil, 0, err
	}
	out := make([]*biz.Product, len(ms))
	for i := range ms {
		out[i] = toBiz(&ms[i])
	}
	return out, int(total), nil
}

func (r *productRepo) AddStock(ctx context.Context, id string, delta int32, requestID string, now time.Time) (*biz.Product, error) {
	var out *biz.Product
	err := r.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if requestID != "" {
			var seen stockRequestModel
			err := tx.Take(&seen, "id = ?", requestID).Error
			switch {
			case err == nil:
				if seen.ProductID != id || seen.Quantity != delta {
					return biz.ErrStockRequestConflict
				}
				var gerr error
				out, gerr = get(tx, id)
				return gerr
			case !errors.Is(err, gorm.ErrRecordNotFound):
				return err
			}
			if err := tx.Create(&stockRequestModel{ID: requestID, ProductID: id, Quantity: delta, CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		if err := addStock(tx, id, delta, now); err != nil {
			return err
		}
		var err error
		out, err = get(tx, id)
		return err
	})
	return out, err
}

// addStock changes the stock in one conditional UPDATE, so that two
// concurrent decrements can never both pass a check made before either
// wrote: the database evaluates "stock >= ?" and writes under one lock.
func addStock(tx *gorm.DB, id string, delta int32, now time.Time) error {
	q := tx.Model(&productModel{}).Where("id = ?", id)
	if delta < 0 {
		q = q.Where("stock >= ?", -int64(delta))
	} else {
		q = q.Where("stock <= ?", math.MaxInt32-int64(delta))
	}
	res := q.UpdateColumns(map[string]any{"stock": gorm.Expr("stock + ?", delta), "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 1 {
		return nil
	}
	p, err := get(tx, id)
	if err != nil {
		return err
	}
	if delta > 0 {
		return biz.ErrStockOverflow
	}
	return &biz.InsufficientStockError{ID: id, Stock: p.Stock, Asked: -delta}
}

func fromBiz(p *biz.Product) productModel {
	return productModel{ID: p.ID, Name: p.Name, Description: p.Description, PriceCents: p.PriceCents, Stock: p.Stock, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func toBiz(m *productModel) *biz.Product {
	return &biz.Product{ID: m.ID, Name: m.Name, Description: m.Description, PriceCents: m.PriceCents, Stock: m.Stock, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}
}
