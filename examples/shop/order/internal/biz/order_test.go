package biz_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/errors"
	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
	productv1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	"github.com/zelos-go/zelos/log"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errDown = errors.ServiceUnavailable("UNAVAILABLE", "connection refused")

type fixture struct {
	uc       *biz.OrderUsecase
	repo     biz.OrderRepo
	users    *fakeUsers
	products *fakeProducts
	now      *clock
}

// clock is a settable clock shared by the use case and the repository.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFixture(t *testing.T, opts ...biz.Option) *fixture {
	t.Helper()
	now := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	repo := newRepo(t, dataClock(now))
	f := &fixture{
		repo:  repo,
		users: &fakeUsers{users: map[string]string{"u1": "Ada", "u2": "Grace"}},
		products: newFakeProducts(
			&productv1.Product{Id: "p1", Name: "Pen", Price: "12.50", Stock: 10},
			&productv1.Product{Id: "p2", Name: "Dime", Price: "0.10", Stock: 100},
		),
		now: now,
	}
	opts = append([]biz.Option{biz.Clock(now.Now), biz.RecoverGrace(time.Second), biz.PendingTimeout(time.Minute)}, opts...)
	f.uc = biz.NewOrderUsecase(repo, f.users, f.products, log.NewStdLogger(testWriter{t}), opts...)
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func order(user string, items ...any) biz.CreateRequest {
	req := biz.CreateRequest{UserID: user}
	for i := 0; i < len(items); i += 2 {
		req.Items = append(req.Items, biz.Item{ProductID: items[i].(string), Quantity: int32(items[i+1].(int))})
	}
	return req
}

func (f *fixture) recover(t *testing.T) {
	t.Helper()
	f.now.Add(2 * time.Second) // past the grace
	if _, err := f.uc.Recover(context.Background()); err != nil {
		t.Fatalf("Recover: %v", err)
	}
}

func (f *fixture) get(t *testing.T, id string) *biz.Order {
	t.Helper()
	o, err := f.uc.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatalf("GetOrder(%s): %v", id, err)
	}
	return o
}

func pendingID(t *testing.T, err error) string {
	t.Helper()
	if !v1.IsDependencyUnavailable(err) {
		t.Fatalf("err %v, want DEPENDENCY_UNAVAILABLE", err)
	}
	id := errors.FromError(err).Metadata["order_id"]
	if id == "" {
		t.Fatalf("err %v names no order_id", err)
	}
	return id
}

func TestCreateOrder(t *testing.T) {
	ctx := context.Background()
	t.Run("reserves, commits and confirms, in exact cents", func(t *testing.T) {
		f := newFixture(t)
		o, user, err := f.uc.CreateOrder(ctx, order("u1", "p1", 3, "p2", 3))
		if err != nil {
			t.Fatal(err)
		}
		// 3 x 12.50 + 3 x 0.10: as floats the dimes alone sum to 0.30000000000000004.
		if o.Total.String() != "37.80" || o.Items[0].Total().String() != "37.50" || o.Items[1].Total().String() != "0.30" {
			t.Errorf("total %s, items %s %s", o.Total, o.Items[0].Total(), o.Items[1].Total())
		}
		if o.Status != biz.StatusConfirmed || !o.StockSettled || user.GetName() != "Ada" {
			t.Errorf("order %+v, user %v", o, user)
		}
		if o.Items[0].ProductName != "Pen" || o.Items[0].Price != 1250 {
			t.Errorf("item %+v", o.Items[0])
		}
		if f.products.stock("p1") != 7 || f.products.stock("p2") != 97 {
			t.Errorf("stock %d %d", f.products.stock("p1"), f.products.stock("p2"))
		}
		if f.products.state(o.ReservationID()) != productv1.ReservationState_CONFIRMED {
			t.Errorf("reservation %v", f.products.state(o.ReservationID()))
		}
		got := f.get(t, o.ID)
		if got.Total != o.Total || got.Status != biz.StatusConfirmed || len(got.Items) != 2 || got.Items[1].ProductName != "Dime" {
			t.Errorf("stored %+v", got)
		}
	})
	t.Run("the same product twice is one item", func(t *testing.T) {
		f := newFixture(t)
		o, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 1, "p1", 2))
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Items) != 1 || o.Items[0].Quantity != 3 || f.products.stock("p1") != 7 {
			t.Errorf("items %+v, stock %d", o.Items, f.products.stock("p1"))
		}
	})
	t.Run("insufficient stock fails the order and takes nothing", func(t *testing.T) {
		f := newFixture(t)
		_, _, err := f.uc.CreateOrder(ctx, order("u1", "p2", 1, "p1", 11))
		if !productv1.IsInsufficientStock(err) {
			t.Fatalf("err %v, want INSUFFICIENT_STOCK", err)
		}
		if f.products.stock("p1") != 10 || f.products.stock("p2") != 100 {
			t.Errorf("stock %d %d", f.products.stock("p1"), f.products.stock("p2"))
		}
		list, total, _ := f.uc.ListOrders(ctx, "u1", 1, 10)
		if total != 1 || list[0].Status != biz.StatusFailed || !list[0].StockSettled || !productv1.IsInsufficientStock(list[0].Failure) {
			t.Fatalf("orders %d %+v", total, list)
		}
		// The release left a closed reservation, so a delayed retry of
		// the reserve cannot take stock for this failed order.
		if f.products.state(list[0].ReservationID()) != productv1.ReservationState_RELEASED {
			t.Errorf("reservation %v", f.products.state(list[0].ReservationID()))
		}
	})
	t.Run("unknown product", func(t *testing.T) {
		f := newFixture(t)
		if _, _, err := f.uc.CreateOrder(ctx, order("u1", "nope", 1)); !productv1.IsProductNotFound(err) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("unknown user: no order", func(t *testing.T) {
		f := newFixture(t)
		_, _, err := f.uc.CreateOrder(ctx, order("ghost", "p1", 1))
		if errors.Code(err) != 404 || errors.Reason(err) != "USER_NOT_FOUND" {
			t.Errorf("err %v", err)
		}
		if _, total, _ := f.uc.ListOrders(ctx, "ghost", 1, 10); total != 0 || f.products.count("reserve") != 0 {
			t.Errorf("orders %d, reserves %d", total, f.products.count("reserve"))
		}
	})
	t.Run("user service down", func(t *testing.T) {
		f := newFixture(t)
		f.users.err = errDown
		if _, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 1)); !v1.IsDependencyUnavailable(err) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("a bad price from the product service", func(t *testing.T) {
		f := newFixture(t)
		f.products.products["p1"].Price = "12.5x"
		_, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 1))
		if !v1.IsBadDependencyReply(err) || f.products.stock("p1") != 10 {
			t.Errorf("err %v, stock %d", err, f.products.stock("p1"))
		}
	})
}

func TestCreateOrderInvalid(t *testing.T) {
	f := newFixture(t)
	many := order("u1")
	for i := range biz.MaxItems + 1 {
		many.Items = append(many.Items, biz.Item{ProductID: fmt.Sprint("p", i), Quantity: 1})
	}
	longKey := order("u1", "p1", 1)
	longKey.IdempotencyKey = strings.Repeat("k", biz.MaxIdempotencyKeyLen+1)
	for _, tc := range []struct {
		name string
		req  biz.CreateRequest
	}{
		{"no user", order("", "p1", 1)},
		{"no items", order("u1")},
		{"no product", order("u1", "", 1)},
		{"zero quantity", order("u1", "p1", 0)},
		{"negative quantity", order("u1", "p1", -1)},
		{"quantity too large", order("u1", "p1", biz.MaxQuantity+1)},
		{"merged quantity too large", order("u1", "p1", biz.MaxQuantity, "p1", 1)},
		{"too many items", many},
		{"idempotency key too long", longKey},
		{"user id too long", order(strings.Repeat("u", biz.MaxIDLen+1), "p1", 1)},
		{"product id too long", order("u1", strings.Repeat("p", biz.MaxIDLen+1), 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.uc.CreateOrder(context.Background(), tc.req)
			if !v1.IsInvalidOrder(err) {
				t.Errorf("err %v, want 400 INVALID_ORDER", err)
			}
		})
	}
	if f.products.count("reserve") != 0 {
		t.Error("an invalid order reached the product service")
	}
}

func TestIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	t.Run("a retry returns the first order", func(t *testing.T) {
		f := newFixture(t)
		req := order("u1", "p1", 2)
		req.IdempotencyKey = "k1"
		a, _, err := f.uc.CreateOrder(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := f.uc.CreateOrder(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != b.ID || f.products.stock("p1") != 8 {
			t.Errorf("ids %s %s, stock %d", a.ID, b.ID, f.products.stock("p1"))
		}
		// The key is per user.
		other := order("u2", "p1", 2)
		other.IdempotencyKey = "k1"
		c, _, err := f.uc.CreateOrder(ctx, other)
		if err != nil || c.ID == a.ID {
			t.Errorf("another user's key: %v, %v", c, err)
		}
	})
	t.Run("concurrent retries create one order", func(t *testing.T) {
		f := newFixture(t)
		req := order("u1", "p1", 1)
		req.IdempotencyKey = "k-concurrent"
		ids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				o, _, err := f.uc.CreateOrder(ctx, req)
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = o.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Errorf("ids %q", ids)
				break
			}
		}
		if _, total, _ := f.uc.ListOrders(ctx, "u1", 1, 10); total != 1 || f.products.stock("p1") != 9 {
			t.Errorf("%d orders, stock %d", total, f.products.stock("p1"))
		}
	})
	t.Run("another request under a used key", func(t *testing.T) {
		f := newFixture(t)
		req := order("u1", "p1", 1)
		req.IdempotencyKey = "k2"
		if _, _, err := f.uc.CreateOrder(ctx, req); err != nil {
			t.Fatal(err)
		}
		req.Items[0].Quantity = 5
		if _, _, err := f.uc.CreateOrder(ctx, req); !v1.IsIdempotencyKeyReused(err) || errors.Code(err) != 409 {
			t.Errorf("err %v, want 409 IDEMPOTENCY_KEY_REUSED", err)
		}
	})
	t.Run("a retry of a refused order gets the same refusal", func(t *testing.T) {
		f := newFixture(t)
		req := order("u1", "p1", 50)
		req.IdempotencyKey = "k3"
		_, _, err1 := f.uc.CreateOrder(ctx, req)
		_, _, err2 := f.uc.CreateOrder(ctx, req)
		if !productv1.IsInsufficientStock(err1) || !productv1.IsInsufficientStock(err2) {
			t.Errorf("errs %v / %v", err1, err2)
		}
	})
	t.Run("a retry finishes a pending order", func(t *testing.T) {
		f := newFixture(t)
		req := order("u1", "p1", 4)
		req.IdempotencyKey = "k4"
		f.products.setLost("reserve", errDown) // reserved, but the reply is lost
		_, _, err := f.uc.CreateOrder(ctx, req)
		id := pendingID(t, err)
		f.products.setLost("reserve", nil)
		o, _, err := f.uc.CreateOrder(ctx, req)
		if err != nil || o.ID != id || o.Status != biz.StatusConfirmed || f.products.stock("p1") != 6 {
			t.Errorf("retry: %v %v, stock %d", o, err, f.products.stock("p1"))
		}
	})
}

// TestFailuresBetweenSteps injects a failure between each two steps of an
// order and checks that stock and orders end consistent: every reserved
// unit belongs to a confirmed order, or is back in stock.
func TestFailuresBetweenSteps(t *testing.T) {
	ctx := context.Background()
	t.Run("product down at reserve: pending, then completed by Recover", func(t *testing.T) {
		f := newFixture(t)
		f.products.setDown("reserve", errDown)
		_, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 2))
		id := pendingID(t, err)
		f.recover(t) // still down: stays pending
		if o := f.get(t, id); o.Status != biz.StatusPending {
			t.Fatalf("status %s", o.Status)
		}
		f.products.setDown("reserve", nil)
		f.recover(t)
		o := f.get(t, id)
		if o.Status != biz.StatusConfirmed || !o.StockSettled || o.Total.String() != "25.00" || f.products.stock("p1") != 8 {
			t.Errorf("after recovery: %+v, stock %d", o, f.products.stock("p1"))
		}
	})
	t.Run("reply of the reserve lost: one reservation", func(t *testing.T) {
		f := newFixture(t)
		f.products.setLost("reserve", errDown)
		_, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 2))
		id := pendingID(t, err)
		if f.products.stock("p1") != 8 {
			t.Fatalf("stock %d", f.products.stock("p1"))
		}
		f.products.setLost("reserve", nil)
		f.recover(t)
		if o := f.get(t, id); o.Status != biz.StatusConfirmed || !o.StockSettled || f.products.stock("p1") != 8 {
			t.Errorf("after recovery: %+v, stock %d", o, f.products.stock("p1"))
		}
	})
	t.Run("commit fails after reserve: released", func(t *testing.T) {
		f := newFixture(t, biz.StepHook(func(_ context.Context, s biz.Step, _ *biz.Order) error {
			if s == biz.StepReserved {
				return fmt.Errorf("disk full")
			}
			return nil
		}))
		_, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 2))
		if !v1.IsOrderStoreFailed(err) {
			t.Fatalf("err %v", err)
		}
		list, _, _ := f.uc.ListOrders(ctx, "u1", 1, 10)
		if list[0].Status != biz.StatusFailed || !list[0].StockSettled || f.products.stock("p1") != 10 {
			t.Errorf("order %+v, stock %d", list[0], f.products.stock("p1"))
		}
	})
	t.Run("commit fails and product down: released by Recover", func(t *testing.T) {
		f := newFixture(t, biz.StepHook(func(_ context.Context, s biz.Step, _ *biz.Order) error {
			if s == biz.StepReserved {
				return fmt.Errorf("disk full")
			}
			return nil
		}))
		f.products.setDown("release", errDown)
		if _, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 2)); err == nil {
			t.Fatal("no error")
		}
		if f.products.stock("p1") != 8 {
			t.Fatalf("stock %d before recovery", f.products.stock("p1"))
		}
		f.recover(t)
		if f.products.stock("p1") != 8 {
			t.Fatalf("stock %d while still down", f.products.stock("p1"))
		}
		f.products.setDown("release", nil)
		f.recover(t)
		list, _, _ := f.uc.ListOrders(ctx, "u1", 1, 10)
		if list[0].Status != biz.StatusFailed || !list[0].StockSettled || f.products.stock("p1") != 10 {
			t.Errorf("order %+v, stock %d", list[0], f.products.stock("p1"))
		}
	})
	t.Run("confirm fails after commit: the order stands, Recover confirms", func(t *testing.T) {
		f := newFixture(t)
		f.products.setDown("confirm", errDown)
		o, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 2))
		if err != nil || o.Status != biz.StatusConfirmed || o.StockSettled {
			t.Fatalf("order %+v, %v", o, err)
		}
		f.recover(t)
		if f.get(t, o.ID).StockSettled {
			t.Fatal("settled while product down")
		}
		f.products.setDown("confirm", nil)
		f.recover(t)
		if got := f.get(t, o.ID); !got.StockSettled || f.products.state(o.ReservationID()) != productv1.ReservationState_CONFIRMED || f.products.stock("p1") != 8 {
			t.Errorf("order %+v, reservation %v, stock %d", got, f.products.state(o.ReservationID()), f.products.stock("p1"))
		}
	})
	t.Run("hook between commit and confirm", func(t *testing.T) {
		f := newFixture(t, biz.StepHook(func(_ context.Context, s biz.Step, _ *biz.Order) error {
			if s == biz.StepCommitted {
				return fmt.Errorf("product killed")
			}
			return nil
		}))
		o, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 1))
		if err != nil || o.StockSettled || f.products.count("confirm") != 0 {
			t.Fatalf("order %+v, %v, confirms %d", o, err, f.products.count("confirm"))
		}
		f.recover(t)
		if !f.get(t, o.ID).StockSettled {
			t.Error("not confirmed by Recover")
		}
	})
	t.Run("pending too long: failed and released", func(t *testing.T) {
		f := newFixture(t)
		f.products.setLost("reserve", errDown)
		_, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 3))
		id := pendingID(t, err)
		f.products.setDown("reserve", errDown) // and then no answer at all
		f.products.setDown("release", errDown)
		f.now.Add(2 * time.Minute)
		f.recover(t)
		if o := f.get(t, id); o.Status != biz.StatusFailed || o.StockSettled || f.products.stock("p1") != 7 {
			t.Fatalf("order %+v, stock %d", o, f.products.stock("p1"))
		}
		f.products.setDown("release", nil)
		f.recover(t)
		if o := f.get(t, id); !o.StockSettled || f.products.stock("p1") != 10 || !v1.IsOrderExpired(o.Failure) {
			t.Errorf("order %+v, stock %d", o, f.products.stock("p1"))
		}
		// A retry of the reserve delayed in the network takes nothing now.
		f.products.setDown("reserve", nil)
		f.recover(t)
		if f.products.stock("p1") != 10 {
			t.Errorf("stock %d after a late reserve", f.products.stock("p1"))
		}
	})
	t.Run("reservation expired before the confirm", func(t *testing.T) {
		f := newFixture(t)
		f.products.setDown("confirm", errDown)
		o, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 2))
		if err != nil {
			t.Fatal(err)
		}
		f.products.expire(o.ReservationID())
		f.products.setDown("confirm", nil)
		f.recover(t)
		got := f.get(t, o.ID)
		if got.Status != biz.StatusFailed || !got.StockSettled || f.products.stock("p1") != 10 || !v1.IsOrderExpired(got.Failure) {
			t.Errorf("order %+v, stock %d", got, f.products.stock("p1"))
		}
	})
	t.Run("Recover stops at the first order the product service does not answer for", func(t *testing.T) {
		f := newFixture(t)
		f.products.setDown("reserve", errDown)
		for range 3 {
			_, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 1))
			pendingID(t, err)
		}
		before := f.products.count("reserve")
		f.now.Add(2 * time.Second)
		n, err := f.uc.Recover(ctx)
		if err != nil || n != 1 || f.products.count("reserve") != before+1 {
			t.Errorf("Recover looked at %d orders (%v), reserved %d times; want 1, 1", n, err, f.products.count("reserve")-before)
		}
		f.products.setDown("reserve", nil)
		if n, err := f.uc.Recover(ctx); err != nil || n != 3 || f.products.stock("p1") != 7 {
			t.Errorf("with product back: %d orders (%v), stock %d", n, err, f.products.stock("p1"))
		}
	})
	t.Run("Recover leaves young orders to their request", func(t *testing.T) {
		f := newFixture(t)
		f.products.setDown("reserve", errDown)
		_, _, err := f.uc.CreateOrder(ctx, order("u1", "p1", 1))
		pendingID(t, err)
		n, err := f.uc.Recover(ctx) // no time has passed
		if err != nil || n != 0 {
			t.Errorf("Recover looked at %d orders, %v", n, err)
		}
	})
}

func TestGetAndListOrders(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var ids []string
	for i := range 5 {
		o, _, err := f.uc.CreateOrder(ctx, order("u1", "p2", i+1))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
		f.now.Add(time.Second)
	}
	if _, _, err := f.uc.CreateOrder(ctx, order("u2", "p2", 1)); err != nil {
		t.Fatal(err)
	}
	t.Run("pages, newest first", func(t *testing.T) {
		for _, tc := range []struct {
			page, size int32
			want       []string
		}{
			{1, 2, []string{ids[4], ids[3]}},
			{2, 2, []string{ids[2], ids[1]}},
			{3, 2, []string{ids[0]}},
			{4, 2, nil},
			{0, 0, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		} {
			t.Run(fmt.Sprintf("page %d size %d", tc.page, tc.size), func(t *testing.T) {
				list, total, err := f.uc.ListOrders(ctx, "u1", tc.page, tc.size)
				if err != nil || total != 5 {
					t.Fatalf("total %d, %v", total, err)
				}
				var got []string
				for _, o := range list {
					got = append(got, o.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
	})
	t.Run("pages out of bounds are clamped", func(t *testing.T) {
		for _, tc := range []struct {
			page, size int32
			want       int
		}{
			{-1, 2, 2}, {1, -1, 5}, {1, 1000, 5},
		} {
			list, _, err := f.uc.ListOrders(ctx, "u1", tc.page, tc.size)
			if err != nil || len(list) != tc.want {
				t.Errorf("page %d size %d: %d orders, %v", tc.page, tc.size, len(list), err)
			}
		}
		if _, _, err := f.uc.ListOrders(ctx, "", 1, 10); !v1.IsInvalidOrder(err) {
			t.Errorf("no user: %v", err)
		}
	})
	t.Run("get", func(t *testing.T) {
		if o := f.get(t, ids[2]); o.Items[0].Quantity != 3 || o.Total.String() != "0.30" {
			t.Errorf("order %+v", o)
		}
		if _, err := f.uc.GetOrder(ctx, "nope"); !v1.IsOrderNotFound(err) || errors.Code(err) != 404 {
			t.Errorf("unknown id: %v", err)
		}
		if _, err := f.uc.GetOrder(ctx, ""); !v1.IsInvalidOrder(err) {
			t.Errorf("empty id: %v", err)
		}
	})
}
