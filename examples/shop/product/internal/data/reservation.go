package data

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
)

// reservationModel is the reservations table; Items is the JSON of the
// []biz.StockItem, sorted by product id.
type reservationModel struct {
	ID        string    `gorm:"primaryKey;size:128"`
	State     string    `gorm:"size:16;not null;index:idx_reservations_state_expiry,priority:1"`
	Items     string    `gorm:"type:text;not null"`
	ExpiresAt time.Time `gorm:"index:idx_reservations_state_expiry,priority:2"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (reservationModel) TableName() string { return "reservations" }

func (m *reservationModel) toBiz() (*biz.Reservation, error) {
	r := &biz.Reservation{ID: m.ID, State: biz.ReservationState(m.State), ExpiresAt: m.ExpiresAt.UTC()}
	if err := json.Unmarshal([]byte(m.Items), &r.Items); err != nil {
		return nil, err
	}
	return r, nil
}

// takeReservation returns the reservation, or nil if there is none.
func takeReservation(tx *gorm.DB, id string) (*reservationModel, error) {
	var m reservationModel
	err := tx.Take(&m, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func (r *productRepo) Reserve(ctx context.Context, res *biz.Reservation, now time.Time) (*biz.Reservation, []*biz.Product, error) {
	items, err := json.Marshal(res.Items)
	if err != nil {
		return nil, nil, err
	}
	var out *biz.Reservation
	var products []*biz.Product
	err = r.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		old, err := takeReservation(tx, res.ID)
		if err != nil {
			return err
		}
		if old != nil {
			// A retry: answer what the first call did, take nothing.
			if out, err = sameReservation(old, res); err != nil {
				return err
			}
			products, err = productsOf(tx, out.Items)
			return err
		}
		// The items are sorted by product id, so concurrent reservations
		// lock rows in one order (no deadlock on MySQL or PostgreSQL).
		for _, it := range res.Items {
			if err := addStock(tx, it.ProductID, -it.Quantity, now); err != nil {
				return err // the transaction rolls back the items before
			}
		}
		m := reservationModel{ID: res.ID, State: string(biz.Reserved), Items: string(items), ExpiresAt: res.ExpiresAt, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&m).Error; err != nil {
			return err
		}
		out = &biz.Reservation{ID: res.ID, Items: res.Items, State: biz.Reserved, ExpiresAt: res.ExpiresAt}
		products, err = productsOf(tx, res.Items)
		return err
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// Another call with this id committed first (possible on MySQL
		// and PostgreSQL, whose transactions run concurrently): ours
		// rolled back, so answer as a retry does.
		var old *reservationModel
		if old, err = takeReservation(r.d.DB.WithContext(ctx), res.ID); err == nil && old != nil {
			if out, err = sameReservation(old, res); err == nil {
				products, err = productsOf(r.d.DB.WithContext(ctx), out.Items)
			}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return out, products, nil
}

// sameReservation returns old if it is res again, or why not.
func sameReservation(old *reservationModel, res *biz.Reservation) (*biz.Reservation, error) {
	o, err := old.toBiz()
	if err != nil {
		return nil, err
	}
	if o.State == biz.Released {
		return nil, biz.ErrReservationClosed
	}
	if !slices.Equal(o.Items, res.Items) {
		return nil, biz.ErrReservationConflict
	}
	return o, nil
}

func productsOf(tx *gorm.DB, items []biz.StockItem) ([]*biz.Product, error) {
	out := make([]*biz.Product, 0, len(items))
	for _, it := range items {
		p, err := get(tx, it.ProductID)
		if errors.Is(err, biz.ErrNotFound) {
			continue // deleted since: the reservation stands
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (r *productRepo) Confirm(ctx context.Context, id string, now time.Time) (*biz.Reservation, error) {
	var out *biz.Reservation
	var expired bool
	err := r.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, err := takeReservation(tx, id)
		switch {
		case err != nil:
			return err
		case m == nil:
			return biz.ErrReservationNotFound
		case m.State == string(biz.Released):
			return biz.ErrReservationClosed
		case m.State == string(biz.Confirmed):
			out, err = m.toBiz()
			return err
		case !now.Before(m.ExpiresAt):
			// Too late: release it now rather than leave it to the
			// sweeper, and tell the caller (after the commit).
			expired = true
			_, err = release(tx, m, now)
			return err
		}
		m.State, m.UpdatedAt = string(biz.Confirmed), now
		if err := tx.Save(m).Error; err != nil {
			return err
		}
		out, err = m.toBiz()
		return err
	})
	if err == nil && expired {
		err = biz.ErrReservationClosed
	}
	return out, err
}

func (r *productRepo) Release(ctx context.Context, id string, now time.Time) (*biz.Reservation, error) {
	var out *biz.Reservation
	err := r.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, err := takeReservation(tx, id)
		switch {
		case err != nil:
			return err
		case m == nil:
			// Never reserved (or not yet: a Reserve still on its way).
			// Leave a released reservation, so that such a Reserve is
			// refused instead of taking stock nobody would release.
			m = &reservationModel{ID: id, State: string(biz.Released), Items: "[]", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(m).Error; err != nil {
				return err
			}
			out, err = m.toBiz()
			return err
		case m.State == string(biz.Confirmed):
			return biz.ErrReservationClosed
		case m.State == string(biz.Released):
			out, err = m.toBiz()
			return err
		}
		out, err = release(tx, m, now)
		return err
	})
	return out, err
}

// release gives back the stock of the RESERVED m and marks it released.
func release(tx *gorm.DB, m *reservationModel, now time.Time) (*biz.Reservation, error) {
	res, err := m.toBiz()
	if err != nil {
		return nil, err
	}
	for _, it := range res.Items {
		err := addStock(tx, it.ProductID, it.Quantity, now)
		if errors.Is(err, biz.ErrNotFound) {
			continue // the product was deleted: nothing to give back to
		}
		if err != nil {
			return nil, err
		}
	}
	m.State, m.UpdatedAt = string(biz.Released), now
	if err := tx.Save(m).Error; err != nil {
		return nil, err
	}
	res.State = biz.Released
	return res, nil
}

// expireBatch bounds the reservations one Expire releases, so that one
// sweep never holds the write lock for long.
const expireBatch = 100

func (r *productRepo) Expire(ctx context.Context, now time.Time) (int, error) {
	var ids []string
	err := r.d.DB.WithContext(ctx).Model(&reservationModel{}).
		Where("state = ? AND expires_at <= ?", string(biz.Reserved), now).
		Order("expires_at").Limit(expireBatch).Pluck("id", &ids).Error
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		// Each in its own transaction, re-checked inside it: a Confirm
		// may have won the race since the query.
		released := false
		err := r.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			m, err := takeReservation(tx, id)
			if err != nil || m == nil || m.State != string(biz.Reserved) || now.Before(m.ExpiresAt) {
				return err
			}
			released = true
			_, err = release(tx, m, now)
			return err
		})
		if err != nil {
			return n, err
		}
		if released {
			n++
		}
	}
	return n, nil
}
