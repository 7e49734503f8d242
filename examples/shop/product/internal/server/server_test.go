package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
	"github.com/zelos-go/zelos/examples/shop/product/internal/data"
	"github.com/zelos-go/zelos/examples/shop/product/internal/server"
	"github.com/zelos-go/zelos/examples/shop/product/internal/service"
	"github.com/zelos-go/zelos/log"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a clock the test moves.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time { return time.Unix(0, c.ns.Load()) }

func newUsecase(t *testing.T, c *clock) *biz.ProductUsecase {
	t.Helper()
	d, closeData, err := data.NewData(context.Background(), conf.Data{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeData)
	c.ns.Store(time.Now().UnixNano())
	return biz.NewProductUsecase(data.NewProductRepo(d), time.Minute, log.NewStdLogger(io.Discard), biz.WithClock(c.now))
}

func TestRegister(t *testing.T) {
	logger := log.NewStdLogger(io.Discard)
	uc := newUsecase(t, &clock{})
	svc, err := kit.New(context.Background(), kit.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	server.Register(svc, service.NewProductService(uc))
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/v1/products", `{"name":"Mug","price":"2.00","stock":1}`, 200, `"price":"2.00"`},
		{"GET", "/api/v1/products?q=mug", "", 200, `"total":1`},
		{"GET", "/api/v1/products/nope", "", 404, `"PRODUCT_NOT_FOUND"`},
		{"POST", "/api/v1/products/nope/stock", `{"quantity":1}`, 404, `"PRODUCT_NOT_FOUND"`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			svc.HTTP.ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%d %s, want %d with %s", rec.Code, rec.Body, tc.code, tc.want)
			}
		})
	}
}

func TestSweeper(t *testing.T) {
	c := &clock{}
	uc := newUsecase(t, c)
	ctx := context.Background()
	p, err := uc.Create(ctx, "x", "", "1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := uc.Reserve(ctx, "r", []biz.StockItem{{ProductID: p.ID, Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	sw := server.NewSweeper(uc, 5*time.Millisecond, log.NewStdLogger(io.Discard))
	if err := sw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_ = sw.Start(ctx) // a second Start does nothing
	c.ns.Add(int64(uc.TTL()))
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := uc.Get(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Stock == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not release the expired reservation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := sw.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	_ = sw.Stop(ctx) // and a second Stop
	// A zero interval never sweeps.
	off := server.NewSweeper(uc, 0, log.NewStdLogger(io.Discard))
	_ = off.Start(ctx)
	_ = off.Stop(ctx)
}
