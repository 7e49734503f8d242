package product_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/examples/shop/product"
	v1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startApp runs the product service on free ports with the embedded
// configuration and returns its HTTP base URL and a gRPC client.
func startApp(t *testing.T) (string, v1.ProductServiceClient) {
	t.Helper()
	t.Setenv("DRAIN_DELAY", "0s")
	t.Setenv("RESERVATION_TTL", "300ms")
	t.Setenv("SWEEP_INTERVAL", "50ms")
	reg := registry.NewInMemory()
	ctx, cancel := context.WithCancel(context.Background())
	app, cleanup, err := product.NewApp(ctx, product.Options{
		Registry: reg, Logger: log.NewStdLogger(io.Discard), DataDir: t.TempDir(),
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		cleanup()
	})
	var httpURL, grpcAddr string
	deadline := time.Now().Add(10 * time.Second)
	for httpURL == "" || grpcAddr == "" {
		if time.Now().After(deadline) {
			t.Fatal("the service did not register")
		}
		ins, _ := reg.GetService(ctx, product.Name)
		for _, in := range ins {
			for _, ep := range in.Endpoints {
				if h, ok := strings.CutPrefix(ep, "http://"); ok {
					httpURL = "http://" + h
				} else if h, ok := strings.CutPrefix(ep, "grpc://"); ok {
					grpcAddr = h
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return httpURL, v1.NewProductServiceClient(conn)
}

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func TestHTTPCatalogue(t *testing.T) {
	base, _ := startApp(t)
	code, m := do(t, "POST", base+"/api/v1/products", `{"name":"Zelos mug","price":"12.50","stock":10}`)
	if code != 200 {
		t.Fatalf("create: %d %v", code, m)
	}
	p := m["product"].(map[string]any)
	id := p["id"].(string)
	if p["price"] != "12.50" || p["stock"] != float64(10) {
		t.Fatalf("created %v", p)
	}
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		check                    func(map[string]any) bool
	}{
		{"get", "GET", "/api/v1/products/" + id, "", 200, func(m map[string]any) bool {
			return m["product"].(map[string]any)["name"] == "Zelos mug"
		}},
		{"search", "GET", "/api/v1/products?q=MUG&page=1&page_size=5", "", 200, func(m map[string]any) bool {
			return m["total"] == float64(1) && len(m["products"].([]any)) == 1
		}},
		{"search nothing", "GET", "/api/v1/products?q=teapot", "", 200, func(m map[string]any) bool {
			return m["products"] == nil || len(m["products"].([]any)) == 0
		}},
		{"update", "PUT", "/api/v1/products/" + id, `{"price":"9.99"}`, 200, func(m map[string]any) bool {
			p := m["product"].(map[string]any)
			return p["price"] == "9.99" && p["name"] == "Zelos mug"
		}},
		{"stock down", "POST", "/api/v1/products/" + id + "/stock", `{"quantity":-4}`, 200, func(m map[string]any) bool {
			return m["product"].(map[string]any)["stock"] == float64(6)
		}},
		{"stock below zero", "POST", "/api/v1/products/" + id + "/stock", `{"quantity":-7}`, 409, func(m map[string]any) bool {
			return m["reason"] == "INSUFFICIENT_STOCK"
		}},
		{"float price", "POST", "/api/v1/products", `{"name":"x","price":"1.999","stock":1}`, 400, func(m map[string]any) bool {
			return m["reason"] == "INVALID_PRODUCT"
		}},
		{"malformed", "POST", "/api/v1/products", `{"name":`, 400, func(m map[string]any) bool { return m["reason"] != nil }},
		{"unknown", "GET", "/api/v1/products/nope", "", 404, func(m map[string]any) bool {
			return m["reason"] == "PRODUCT_NOT_FOUND"
		}},
		{"delete", "DELETE", "/api/v1/products/" + id, "", 200, func(map[string]any) bool { return true }},
		{"deleted", "GET", "/api/v1/products/" + id, "", 404, func(map[string]any) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m := do(t, tc.method, base+tc.path, tc.body)
			if code != tc.code || !tc.check(m) {
				t.Fatalf("%s %s: %d %v, want %d", tc.method, tc.path, code, m, tc.code)
			}
		})
	}
}

func TestGRPCReservations(t *testing.T) {
	_, c := startApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cr, err := c.CreateProduct(ctx, &v1.CreateProductRequest{Name: "kettle", Price: "30", Stock: 3})
	if err != nil {
		t.Fatal(err)
	}
	id := cr.GetProduct().GetId()
	items := []*v1.StockItem{{ProductId: id, Quantity: 2}}
	r, err := c.ReserveStock(ctx, &v1.ReserveStockRequest{ReservationId: "o1", Items: items})
	if err != nil || r.GetReservation().GetState() != v1.ReservationState_RESERVED || r.GetProducts()[0].GetStock() != 1 {
		t.Fatalf("ReserveStock = %v, %v", r, err)
	}
	if _, err := c.ReserveStock(ctx, &v1.ReserveStockRequest{ReservationId: "o2", Items: items}); !v1.IsInsufficientStock(err) || errors.FromError(err).Code != 409 {
		t.Fatalf("second ReserveStock = %v, want INSUFFICIENT_STOCK", err)
	}
	if cf, err := c.ConfirmStock(ctx, &v1.ConfirmStockRequest{ReservationId: "o1"}); err != nil || cf.GetReservation().GetState() != v1.ReservationState_CONFIRMED {
		t.Fatalf("ConfirmStock = %v, %v", cf, err)
	}
	if _, err := c.ReleaseStock(ctx, &v1.ReleaseStockRequest{ReservationId: "o1"}); !v1.IsReservationClosed(err) {
		t.Fatalf("ReleaseStock of a confirmed one = %v, want RESERVATION_CLOSED", err)
	}
	if _, err := c.UpdateStock(ctx, &v1.UpdateStockRequest{ProductId: id, Quantity: 1}); err != nil {
		t.Fatal(err)
	}

	// The sweeper releases a reservation nobody confirms.
	if _, err := c.ReserveStock(ctx, &v1.ReserveStockRequest{ReservationId: "abandoned", Items: items}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := c.GetProduct(ctx, &v1.GetProductRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		if g.GetProduct().GetStock() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stock = %d, the abandoned reservation was not released", g.GetProduct().GetStock())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rl, err := c.ReleaseStock(ctx, &v1.ReleaseStockRequest{ReservationId: "abandoned"}); err != nil || rl.GetReservation().GetState() != v1.ReservationState_RELEASED {
		t.Fatalf("ReleaseStock after expiry = %v, %v", rl, err)
	}
}

func TestNewAppNeedsRegistry(t *testing.T) {
	if _, _, err := product.NewApp(context.Background(), product.Options{}); err == nil || !strings.HasPrefix(err.Error(), "product: ") {
		t.Fatalf("err = %v", err)
	}
}
