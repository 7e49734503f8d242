package biz_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	v1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/product/internal/data"
	"github.com/zelos-go/zelos/log"
)

// clock is a settable clock for the use cases.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// openRepo opens the product database in dir, a real SQLite file.
func openRepo(t *testing.T, dir string) biz.ProductRepo {
	t.Helper()
	d, closeData, err := data.NewData(context.Background(), conf.Data{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeData)
	return data.NewProductRepo(d)
}

func newUsecase(t *testing.T) (*biz.ProductUsecase, *clock) {
	t.Helper()
	c := newClock()
	return biz.NewProductUsecase(openRepo(t, t.TempDir()), time.Minute, log.NewStdLogger(io.Discard), biz.WithClock(c.now)), c
}

func mustCreate(t *testing.T, uc *biz.ProductUsecase, name, price string, stock int32) *biz.Product {
	t.Helper()
	p, err := uc.Create(context.Background(), name, "", price, stock)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func stockOf(t *testing.T, uc *biz.ProductUsecase, id string) int32 {
	t.Helper()
	p, err := uc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Stock
}

func wantReason(t *testing.T, err error, reason string, code int) {
	t.Helper()
	e := errors.FromError(err)
	if err == nil || e.Reason != reason || int(e.Code) != code {
		t.Fatalf("err = %v, want %s %d", err, reason, code)
	}
}

func TestCRUD(t *testing.T) {
	uc, _ := newUsecase(t)
	ctx := context.Background()
	p, err := uc.Create(ctx, " Mug ", "a mug", "12.50", 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Mug" || p.PriceCents != 1250 || p.Stock != 3 {
		t.Fatalf("created %+v", p)
	}
	got, err := uc.Get(ctx, p.ID)
	if err != nil || got.Name != "Mug" || got.Description != "a mug" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	name, price := "Big mug", "14"
	up, err := uc.Update(ctx, p.ID, &name, nil, &price)
	if err != nil || up.Name != "Big mug" || up.PriceCents != 1400 || up.Description != "a mug" || up.Stock != 3 {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	if err := uc.Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = uc.Get(ctx, p.ID)
	wantReason(t, err, "PRODUCT_NOT_FOUND", 404)
	wantReason(t, uc.Delete(ctx, p.ID), "PRODUCT_NOT_FOUND", 404)
	_, err = uc.Update(ctx, p.ID, &name, nil, nil)
	wantReason(t, err, "PRODUCT_NOT_FOUND", 404)
}

func TestCreateInvalid(t *testing.T) {
	uc, _ := newUsecase(t)
	long := string(make([]byte, biz.MaxName+1))
	for _, tc := range []struct {
		name, pname, price string
		stock              int32
	}{
		{"no name", " ", "1.00", 1},
		{"long name", long, "1.00", 1},
		{"float price", "x", "1.005", 1},
		{"negative price", "x", "-1", 1},
		{"no price", "x", "", 1},
		{"negative stock", "x", "1", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := uc.Create(context.Background(), tc.pname, "", tc.price, tc.stock)
			wantReason(t, err, "INVALID_PRODUCT", 400)
		})
	}
	t.Run("update to an empty name", func(t *testing.T) {
		p := mustCreate(t, uc, "x", "1", 1)
		empty := ""
		_, err := uc.Update(context.Background(), p.ID, &empty, nil, nil)
		wantReason(t, err, "INVALID_PRODUCT", 400)
		bad := "1.2.3"
		_, err = uc.Update(context.Background(), p.ID, nil, nil, &bad)
		wantReason(t, err, "INVALID_PRODUCT", 400)
	})
}

func TestListSearch(t *testing.T) {
	uc, c := newUsecase(t)
	ctx := context.Background()
	for _, n := range []string{"Red mug", "100% cotton shirt", "a_b", "axb", "Blue MUG", "Teapot"} {
		mustCreate(t, uc, n, "1", 1)
		c.advance(time.Millisecond)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", []string{"Red mug", "100% cotton shirt", "a_b", "axb", "Blue MUG", "Teapot"}},
		{"mug", []string{"Red mug", "Blue MUG"}},
		{"%", []string{"100% cotton shirt"}},
		{"_", []string{"a_b"}},
		{"!", nil},
		{"nothing", nil},
	} {
		t.Run(fmt.Sprintf("q=%q", tc.q), func(t *testing.T) {
			ps, total, err := uc.List(ctx, tc.q, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range ps {
				names = append(names, p.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.want) || total != len(tc.want) {
				t.Fatalf("List(%q) = %v (total %d), want %v", tc.q, names, total, tc.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		seen := map[string]bool{}
		for offset := 0; offset < 6; offset += 4 {
			ps, total, err := uc.List(ctx, "", offset, 4)
			if err != nil || total != 6 {
				t.Fatalf("total %d, %v", total, err)
			}
			for _, p := range ps {
				if seen[p.ID] {
					t.Fatalf("%s on two pages", p.Name)
				}
				seen[p.ID] = true
			}
		}
		if len(seen) != 6 {
			t.Fatalf("pages gave %d products, want 6", len(seen))
		}
	})
}

func TestUpdateStock(t *testing.T) {
	uc, _ := newUsecase(t)
	ctx := context.Background()
	p := mustCreate(t, uc, "x", "1", 5)
	if got, err := uc.UpdateStock(ctx, p.ID, -5, ""); err != nil || got.Stock != 0 {
		t.Fatalf("UpdateStock(-5) = %+v, %v", got, err)
	}
	_, err := uc.UpdateStock(ctx, p.ID, -1, "")
	wantReason(t, err, "INSUFFICIENT_STOCK", 409)
	_, err = uc.UpdateStock(ctx, "nope", 1, "")
	wantReason(t, err, "PRODUCT_NOT_FOUND", 404)
	_, err = uc.UpdateStock(ctx, p.ID, 0, "")
	wantReason(t, err, "INVALID_PRODUCT", 400)
	if _, err := uc.UpdateStock(ctx, p.ID, 2147483647, ""); err != nil {
		t.Fatal(err)
	}
	_, err = uc.UpdateStock(ctx, p.ID, 1, "")
	wantReason(t, err, "INVALID_PRODUCT", 400) // int32 overflow refused
	if _, err := uc.UpdateStock(ctx, p.ID, -2147483647, ""); err != nil {
		t.Fatal(err)
	}
	t.Run("request id applies once", func(t *testing.T) {
		for range 3 {
			if _, err := uc.UpdateStock(ctx, p.ID, 4, "req-1"); err != nil {
				t.Fatal(err)
			}
		}
		if s := stockOf(t, uc, p.ID); s != 4 {
			t.Fatalf("stock = %d after one request sent 3 times, want 4", s)
		}
		_, err := uc.UpdateStock(ctx, p.ID, 5, "req-1")
		wantReason(t, err, "RESERVATION_CONFLICT", 409)
	})
}

// TestConcurrentReservations is the proof: 100 orders at once for
// a product with 10 in stock give exactly 10 reservations, and the stock
// ends at 0, never below.
func TestConcurrentReservations(t *testing.T) {
	for _, pools := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d pools", pools), func(t *testing.T) {
			// Two pools on one file are two product instances sharing
			// their database.
			dir := t.TempDir()
			var ucs []*biz.ProductUsecase
			for range pools {
				ucs = append(ucs, biz.NewProductUsecase(openRepo(t, dir), time.Minute, log.NewStdLogger(io.Discard)))
			}
			p := mustCreate(t, ucs[0], "scarce", "9.99", 10)
			var ok, short atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for i := range 100 {
				uc := ucs[i%pools]
				wg.Go(func() {
					_, _, err := uc.Reserve(context.Background(), fmt.Sprint("order-", i), []biz.StockItem{{ProductID: p.ID, Quantity: 1}})
					switch {
					case err == nil:
						ok.Add(1)
					case v1.IsInsufficientStock(err):
						short.Add(1)
					default:
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("unexpected error: %v", err)
			}
			if ok.Load() != 10 || short.Load() != 90 {
				t.Fatalf("%d reserved, %d insufficient; want 10 and 90", ok.Load(), short.Load())
			}
			if s := stockOf(t, ucs[0], p.ID); s != 0 {
				t.Fatalf("stock = %d, want 0", s)
			}
		})
	}
}

func TestConcurrentUpdateStock(t *testing.T) {
	uc, _ := newUsecase(t)
	p := mustCreate(t, uc, "x", "1", 10)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := uc.UpdateStock(context.Background(), p.ID, -1, ""); err == nil {
				ok.Add(1)
			} else if !v1.IsInsufficientStock(err) {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || stockOf(t, uc, p.ID) != 0 {
		t.Fatalf("%d decrements passed, stock %d; want 10 and 0", ok.Load(), stockOf(t, uc, p.ID))
	}
}

func TestReservationLifecycle(t *testing.T) {
	ctx := context.Background()
	items := func(ps ...*biz.Product) []biz.StockItem {
		var out []biz.StockItem
		for _, p := range ps {
			out = append(out, biz.StockItem{ProductID: p.ID, Quantity: 2})
		}
		return out
	}
	t.Run("retry takes once", func(t *testing.T) {
		uc, _ := newUsecase(t)
		a, b := mustCreate(t, uc, "a", "1", 5), mustCreate(t, uc, "b", "2", 5)
		for range 3 {
			r, ps, err := uc.Reserve(ctx, "r1", items(b, a))
			if err != nil {
				t.Fatal(err)
			}
			if r.State != biz.Reserved || len(ps) != 2 || len(r.Items) != 2 {
				t.Fatalf("Reserve = %+v, %d products", r, len(ps))
			}
		}
		if stockOf(t, uc, a.ID) != 3 || stockOf(t, uc, b.ID) != 3 {
			t.Fatalf("stock %d, %d after 3 sends of one reservation, want 3, 3", stockOf(t, uc, a.ID), stockOf(t, uc, b.ID))
		}
		_, _, err := uc.Reserve(ctx, "r1", items(a))
		wantReason(t, err, "RESERVATION_CONFLICT", 409)
		for range 2 {
			r, err := uc.Confirm(ctx, "r1")
			if err != nil || r.State != biz.Confirmed {
				t.Fatalf("Confirm = %+v, %v", r, err)
			}
		}
		_, err = uc.Release(ctx, "r1")
		wantReason(t, err, "RESERVATION_CLOSED", 409)
		if stockOf(t, uc, a.ID) != 3 {
			t.Fatal("a confirmed reservation gave its stock back")
		}
	})
	t.Run("all or none", func(t *testing.T) {
		uc, _ := newUsecase(t)
		a, b := mustCreate(t, uc, "a", "1", 5), mustCreate(t, uc, "b", "2", 1)
		_, _, err := uc.Reserve(ctx, "r2", items(a, b))
		wantReason(t, err, "INSUFFICIENT_STOCK", 409)
		_, _, err = uc.Reserve(ctx, "r3", []biz.StockItem{{ProductID: a.ID, Quantity: 1}, {ProductID: "missing", Quantity: 1}})
		wantReason(t, err, "PRODUCT_NOT_FOUND", 404)
		if stockOf(t, uc, a.ID) != 5 || stockOf(t, uc, b.ID) != 1 {
			t.Fatal("a failed reservation took stock")
		}
		// The failed ids were not stored: they can be used again.
		b2 := mustCreate(t, uc, "b2", "2", 5)
		if _, _, err := uc.Reserve(ctx, "r2", items(a, b2)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("release gives back once", func(t *testing.T) {
		uc, _ := newUsecase(t)
		a := mustCreate(t, uc, "a", "1", 5)
		if _, _, err := uc.Reserve(ctx, "r4", items(a)); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			r, err := uc.Release(ctx, "r4")
			if err != nil || r.State != biz.Released {
				t.Fatalf("Release = %+v, %v", r, err)
			}
		}
		if s := stockOf(t, uc, a.ID); s != 5 {
			t.Fatalf("stock = %d, want 5", s)
		}
		_, err := uc.Confirm(ctx, "r4")
		wantReason(t, err, "RESERVATION_CLOSED", 409)
		_, _, err = uc.Reserve(ctx, "r4", items(a))
		wantReason(t, err, "RESERVATION_CLOSED", 409)
	})
	t.Run("release before reserve", func(t *testing.T) {
		uc, _ := newUsecase(t)
		a := mustCreate(t, uc, "a", "1", 5)
		// The order gave up (a timeout) and released; its Reserve arrives
		// late, and must not take stock nobody will release.
		if _, err := uc.Release(ctx, "late"); err != nil {
			t.Fatal(err)
		}
		_, _, err := uc.Reserve(ctx, "late", items(a))
		wantReason(t, err, "RESERVATION_CLOSED", 409)
		if stockOf(t, uc, a.ID) != 5 {
			t.Fatal("a late Reserve took stock")
		}
	})
	t.Run("unknown", func(t *testing.T) {
		uc, _ := newUsecase(t)
		_, err := uc.Confirm(ctx, "nope")
		wantReason(t, err, "RESERVATION_NOT_FOUND", 404)
	})
	t.Run("expiry", func(t *testing.T) {
		uc, c := newUsecase(t)
		a := mustCreate(t, uc, "a", "1", 5)
		if _, _, err := uc.Reserve(ctx, "slow", items(a)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := uc.Reserve(ctx, "dead", items(a)); err != nil {
			t.Fatal(err)
		}
		if n, err := uc.Expire(ctx); err != nil || n != 0 {
			t.Fatalf("Expire before the TTL = %d, %v", n, err)
		}
		c.advance(uc.TTL())
		// Confirming too late releases, and says so.
		_, err := uc.Confirm(ctx, "slow")
		wantReason(t, err, "RESERVATION_CLOSED", 409)
		if n, err := uc.Expire(ctx); err != nil || n != 1 {
			t.Fatalf("Expire = %d, %v; want the one left", n, err)
		}
		if s := stockOf(t, uc, a.ID); s != 5 {
			t.Fatalf("stock = %d after the reservations expired, want 5", s)
		}
	})
}

func TestReserveInvalid(t *testing.T) {
	uc, _ := newUsecase(t)
	long := string(make([]byte, biz.MaxReservationID+1))
	many := make([]biz.StockItem, biz.MaxReservationLen+1)
	for i := range many {
		many[i] = biz.StockItem{ProductID: fmt.Sprint(i), Quantity: 1}
	}
	for _, tc := range []struct {
		name  string
		id    string
		items []biz.StockItem
	}{
		{"no id", "", []biz.StockItem{{ProductID: "a", Quantity: 1}}},
		{"long id", long, []biz.StockItem{{ProductID: "a", Quantity: 1}}},
		{"no items", "r", nil},
		{"too many items", "r", many},
		{"no product", "r", []biz.StockItem{{Quantity: 1}}},
		{"zero quantity", "r", []biz.StockItem{{ProductID: "a"}}},
		{"product twice", "r", []biz.StockItem{{ProductID: "a", Quantity: 1}, {ProductID: "a", Quantity: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := uc.Reserve(context.Background(), tc.id, tc.items)
			wantReason(t, err, "INVALID_PRODUCT", 400)
		})
	}
	_, err := uc.Confirm(context.Background(), "")
	wantReason(t, err, "INVALID_PRODUCT", 400)
	_, err = uc.Release(context.Background(), long)
	wantReason(t, err, "INVALID_PRODUCT", 400)
}
