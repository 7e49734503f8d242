package data

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
)

func newRepo(t *testing.T) (*Data, *productRepo) {
	t.Helper()
	d, closeData, err := NewData(context.Background(), conf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeData)
	return d, NewProductRepo(d).(*productRepo)
}

func TestReservationOfDeletedProduct(t *testing.T) {
	_, r := newRepo(t)
	ctx := context.Background()
	now := time.Now().UTC()
	p := &biz.Product{ID: "p", Name: "x", PriceCents: 100, Stock: 3, CreatedAt: now, UpdatedAt: now}
	if err := r.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	res := &biz.Reservation{ID: "r", Items: []biz.StockItem{{ProductID: "p", Quantity: 1}}, State: biz.Reserved, ExpiresAt: now.Add(time.Minute)}
	if _, _, err := r.Reserve(ctx, res, now); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	// A retry still answers, without the deleted product; a release
	// has no stock to give back and succeeds.
	got, ps, err := r.Reserve(ctx, res, now)
	if err != nil || got.State != biz.Reserved || len(ps) != 0 {
		t.Fatalf("Reserve retry = %+v, %d products, %v", got, len(ps), err)
	}
	if rel, err := r.Release(ctx, "r", now); err != nil || rel.State != biz.Released {
		t.Fatalf("Release = %+v, %v", rel, err)
	}
}

func TestClosedDatabase(t *testing.T) {
	d, r := newRepo(t)
	ctx := context.Background()
	if err := d.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := d.DB.DB()
	_ = sqlDB.Close()
	now := time.Now()
	for name, err := range map[string]error{
		"ping":    d.Ping(ctx),
		"get":     second(r.Get(ctx, "p")),
		"list":    third(r.List(ctx, "", 0, 1)),
		"stock":   second(r.AddStock(ctx, "p", 1, "", now)),
		"reserve": third(r.Reserve(ctx, &biz.Reservation{ID: "r"}, now)),
		"confirm": second(r.Confirm(ctx, "r", now)),
		"release": second(r.Release(ctx, "r", now)),
		"expire":  second(r.Expire(ctx, now)),
		"delete":  r.Delete(ctx, "p"),
		"update":  second(r.Update(ctx, "p", biz.ProductUpdate{}, now)),
	} {
		if err == nil || errors.Is(err, biz.ErrNotFound) {
			t.Errorf("%s on a closed database = %v, want the driver's error", name, err)
		}
	}
}

func TestNewDataErrors(t *testing.T) {
	_, _, err := NewData(context.Background(), conf.Data{Database: conf.Database{Driver: "mysql"}})
	if err == nil || !strings.Contains(err.Error(), "needs a DSN") {
		t.Fatalf("err = %v", err)
	}
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }

func TestRepo(t *testing.T) {
	_, r := newRepo(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, name := range []string{"Red 50% mug", "Blue mug", "Teapot"} {
		at := now.Add(time.Duration(i) * time.Second)
		if err := r.Create(ctx, &biz.Product{ID: name[:3], Name: name, PriceCents: 100, Stock: 5, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("list", func(t *testing.T) {
		ps, total, err := r.List(ctx, "MUG", 0, 10)
		if err != nil || total != 2 || len(ps) != 2 || ps[0].ID != "Red" {
			t.Fatalf("List(MUG) = %d (total %d), %v", len(ps), total, err)
		}
		if _, total, _ := r.List(ctx, "0%", 0, 10); total != 1 {
			t.Fatalf("List(0%%) total %d, want 1: %% is matched literally", total)
		}
	})
	t.Run("update", func(t *testing.T) {
		n, d, c := "Teapot XL", "big", int64(250)
		p, err := r.Update(ctx, "Tea", biz.ProductUpdate{Name: &n, Description: &d, PriceCents: &c}, now)
		if err != nil || p.Name != n || p.Description != d || p.PriceCents != c {
			t.Fatalf("Update = %+v, %v", p, err)
		}
		if _, err := r.Update(ctx, "nope", biz.ProductUpdate{Name: &n}, now); !errors.Is(err, biz.ErrNotFound) {
			t.Fatalf("Update(nope) = %v", err)
		}
	})
	t.Run("stock", func(t *testing.T) {
		if _, err := r.AddStock(ctx, "Blu", -6, "", now); !errors.Is(err, biz.ErrInsufficientStock) {
			t.Fatalf("AddStock(-6 of 5) = %v", err)
		}
		for range 2 {
			p, err := r.AddStock(ctx, "Blu", -2, "req", now)
			if err != nil || p.Stock != 3 {
				t.Fatalf("AddStock(-2, req) = %+v, %v", p, err)
			}
		}
		if _, err := r.AddStock(ctx, "Blu", -1, "req", now); !errors.Is(err, biz.ErrStockRequestConflict) {
			t.Fatalf("reused request id = %v", err)
		}
		if _, err := r.AddStock(ctx, "nope", 1, "", now); !errors.Is(err, biz.ErrNotFound) {
			t.Fatalf("AddStock(nope) = %v", err)
		}
	})
	t.Run("reservations", func(t *testing.T) {
		items := []biz.StockItem{{ProductID: "Blu", Quantity: 1}, {ProductID: "Red", Quantity: 1}}
		res := &biz.Reservation{ID: "r1", Items: items, State: biz.Reserved, ExpiresAt: now.Add(time.Minute)}
		if _, _, err := r.Reserve(ctx, res, now); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Confirm(ctx, "r1", now); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Release(ctx, "r1", now); !errors.Is(err, biz.ErrReservationClosed) {
			t.Fatalf("Release of a confirmed one = %v", err)
		}
		if _, err := r.Confirm(ctx, "nope", now); !errors.Is(err, biz.ErrReservationNotFound) {
			t.Fatalf("Confirm(nope) = %v", err)
		}
		res2 := &biz.Reservation{ID: "r2", Items: items[:1], State: biz.Reserved, ExpiresAt: now.Add(time.Minute)}
		if _, _, err := r.Reserve(ctx, res2, now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Reserve(ctx, &biz.Reservation{ID: "r2", Items: items, ExpiresAt: now}, now); !errors.Is(err, biz.ErrReservationConflict) {
			t.Fatalf("Reserve(r2, other items) = %v", err)
		}
		if n, err := r.Expire(ctx, now.Add(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("Expire = %d, %v; want r2", n, err)
		}
		if _, err := r.Confirm(ctx, "r2", now); !errors.Is(err, biz.ErrReservationClosed) {
			t.Fatalf("Confirm after expiry = %v", err)
		}
		p, _ := r.Get(ctx, "Blu")
		if p.Stock != 2 {
			t.Fatalf("stock %d, want 2 (3, one confirmed, one expired)", p.Stock)
		}
	})
}
