package data_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/errors"
	shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/order/internal/data"
	userv1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newRepo(t *testing.T, now func() time.Time) *data.OrderRepo {
	t.Helper()
	g, ping, closeDB, err := data.Open(context.Background(), shopconf.Data{Dir: filepath.Join(t.TempDir(), "d")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeDB)
	if err := ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	return data.NewOrderRepo(g, data.Clock(now))
}

func pending(user, key string) *biz.Order {
	return &biz.Order{UserID: user, IdempotencyKey: key, RequestHash: "h",
		Items: []biz.Item{{ProductID: "p1", Quantity: 2}, {ProductID: "p2", Quantity: 1}}}
}

func TestOrderRepo(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func() { mu.Lock(); now = now.Add(time.Minute); mu.Unlock() }
	r := newRepo(t, clock)

	a, created, err := r.Create(ctx, pending("u1", "k"))
	if err != nil || !created || len(a.ID) != 32 || a.Status != biz.StatusPending || !a.CreatedAt.Equal(t0) {
		t.Fatalf("Create: %+v %v %v", a, created, err)
	}
	t.Run("a used key returns the first order", func(t *testing.T) {
		b, created, err := r.Create(ctx, pending("u1", "k"))
		if err != nil || created || b.ID != a.ID || len(b.Items) != 2 {
			t.Errorf("%+v %v %v", b, created, err)
		}
		c, created, err := r.Create(ctx, pending("u2", "k"))
		if err != nil || !created || c.ID == a.ID {
			t.Errorf("another user's key: %+v %v %v", c, created, err)
		}
		for range 2 {
			if _, created, err := r.Create(ctx, pending("u1", "")); err != nil || !created {
				t.Errorf("orders without a key: %v %v", created, err)
			}
		}
	})
	t.Run("transitions are conditional", func(t *testing.T) {
		tick()
		total := biz.Money(2550)
		items := []biz.Item{{ProductID: "p1", ProductName: "Pen", Quantity: 2, Price: 1250}, {ProductID: "p2", ProductName: strings.Repeat("é", 200), Quantity: 1, Price: 50}}
		ok, err := r.Transition(ctx, a.ID, biz.StatusPending, biz.StatusConfirmed, biz.Update{Items: items, Total: &total})
		if err != nil || !ok {
			t.Fatalf("%v %v", ok, err)
		}
		ok, err = r.Transition(ctx, a.ID, biz.StatusPending, biz.StatusFailed, biz.Update{})
		if err != nil || ok {
			t.Errorf("second transition from pending: %v %v", ok, err)
		}
		got, err := r.Get(ctx, a.ID)
		if err != nil || got.Status != biz.StatusConfirmed || got.Total != 2550 || got.Items[0].ProductName != "Pen" ||
			got.Items[1].Price != 50 || len(got.Items[1].ProductName) > 255 || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("%+v %v", got, err)
		}
	})
	t.Run("failures are kept", func(t *testing.T) {
		o, _, _ := r.Create(ctx, pending("u3", ""))
		ok, err := r.Transition(ctx, o.ID, biz.StatusPending, biz.StatusFailed, biz.Update{Failure: errors.New(409, "INSUFFICIENT_STOCK", "none left")})
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		got, _ := r.Get(ctx, o.ID)
		if got.Failure == nil || got.Failure.Code != 409 || got.Failure.Reason != "INSUFFICIENT_STOCK" || got.Failure.Message != "none left" {
			t.Errorf("failure %+v", got.Failure)
		}
	})
	t.Run("unsettled and settled", func(t *testing.T) {
		tick()
		list, err := r.ListUnsettled(ctx, clock(), 100)
		if err != nil || len(list) != 5 {
			t.Fatalf("%d unsettled, %v", len(list), err)
		}
		if err := r.Settle(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		list, _ = r.ListUnsettled(ctx, clock(), 100)
		if len(list) != 4 {
			t.Errorf("%d unsettled after Settle", len(list))
		}
		// Orders changed at or after before are left alone.
		if list, _ := r.ListUnsettled(ctx, t0, 100); len(list) != 0 {
			t.Errorf("%d orders older than the first", len(list))
		}
	})
	t.Run("pages", func(t *testing.T) {
		list, total, err := r.ListByUser(ctx, "u1", 1, 1)
		if err != nil || total != 3 || len(list) != 1 {
			t.Errorf("%d of %d, %v", len(list), total, err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		if _, err := r.Get(ctx, "nope"); !errors.Is(err, biz.ErrNotFound) {
			t.Errorf("%v", err)
		}
	})
}

func TestOpenRefuses(t *testing.T) {
	_, _, _, err := data.Open(context.Background(), shopconf.Data{Database: shopconf.Database{Driver: "oracle"}})
	if err == nil {
		t.Error("an unknown driver opened")
	}
}

func TestNewClients(t *testing.T) {
	// Dialing is lazy: no service needs to be up.
	c, err := data.NewClients(context.Background(), data.ClientOptions{
		UserTarget: "discovery:///user.service", ProductTarget: "discovery:///product.service",
		Discovery: registry.NewInMemory(), Timeout: 50 * time.Millisecond, Attempts: 2,
		Tracer: noop.NewTracerProvider(), Meters: metricnoop.NewMeterProvider(), Logger: log.NewStdLogger(io.Discard),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// No instance is registered: the call fails in its timeout, as the
	// order service's callers see it, a 5xx.
	_, err = c.Users.GetUser(context.Background(), &userv1.GetUserRequest{Id: "u"})
	if code := errors.Code(err); code < 500 {
		t.Errorf("GetUser with no instance: %v", err)
	}
	if _, err := data.NewClients(context.Background(), data.ClientOptions{UserTarget: "discovery:///user.service", ProductTarget: "discovery:///p"}); err == nil {
		t.Error("discovery:/// without a registry dialed")
	}
}
