package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer collects the shop's logs from every service's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startShop runs the one-process shop as `go run ./examples/shop` does,
// on a free port and a temporary data directory.
func startShop(t *testing.T, productInstances int) (*shop, *syncBuffer) {
	t.Helper()
	// Quick hashes and short drains keep the test fast; the gateway's
	// per-IP limit on register and login is lowered so the test can
	// exceed it.
	t.Setenv("BCRYPT_COST", "4")
	t.Setenv("DRAIN_DELAY", "1s")
	t.Setenv("SHOP_LOGIN_RATE_LIMIT", "10")
	t.Setenv("ADMIN_ADDR", "127.0.0.1:0")
	logs := &syncBuffer{}
	s, err := start(context.Background(), options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), ProductInstances: productInstances, Logs: logs})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("shop logs:\n%s", tail(logs.String(), 12000))
		}
	})
	return s, logs
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// client calls the gateway with an optional token.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) do(method, path, body string, header ...string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, m
}

// must calls and fails the test unless the status is want.
func (c *client) must(want int, method, path, body string, header ...string) map[string]any {
	c.t.Helper()
	code, m := c.do(method, path, body, header...)
	if code != want {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, code, m, want)
	}
	return m
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// login registers a user and logs in, returning a client with the token
// and the user's id.
func login(t *testing.T, base, email string) (*client, string) {
	t.Helper()
	c := &client{t: t, base: base}
	reg := c.must(200, "POST", "/api/v1/users", fmt.Sprintf(`{"name":"E2E","email":%q,"password":"e2e-password"}`, email))
	id, _ := field(reg, "user", "id").(string)
	if id == "" {
		t.Fatalf("register reply %v", reg)
	}
	lr := c.must(200, "POST", "/api/v1/login", fmt.Sprintf(`{"email":%q,"password":"e2e-password"}`, email))
	c.token, _ = lr["token"].(string)
	if c.token == "" {
		t.Fatalf("login reply %v", lr)
	}
	return c, id
}

// TestShopEndToEnd is the proof, through the gateway: register and
// log in, create products, order, see the stock go down and the order
// listed, chat in a room with two WebSocket clients.
func TestShopEndToEnd(t *testing.T) {
	s, _ := startShop(t, 1)
	c, userID := login(t, s.GatewayURL, "e2e@example.com")

	p := c.must(200, "POST", "/api/v1/products", `{"name":"E2E kettle","price":"24.90","stock":5}`)
	pid, _ := field(p, "product", "id").(string)
	if pid == "" || field(p, "product", "price") != "24.90" {
		t.Fatalf("create product reply %v", p)
	}
	if got := c.must(200, "GET", "/api/v1/products?q=kettle", ""); field(got, "total") != float64(1) {
		t.Fatalf("search reply %v", got)
	}

	body := fmt.Sprintf(`{"user_id":%q,"items":[{"product_id":%q,"quantity":2}]}`, userID, pid)
	o := c.must(200, "POST", "/api/v1/orders", body, "Idempotency-Key", "e2e-order-1")
	oid, _ := field(o, "order", "id").(string)
	if oid == "" || field(o, "order", "totalAmount") != "49.80" {
		t.Fatalf("create order reply %v", o)
	}
	// A retry with the same key is the same order, and takes no stock.
	again := c.must(200, "POST", "/api/v1/orders", body, "Idempotency-Key", "e2e-order-1")
	if field(again, "order", "id") != oid {
		t.Fatalf("retried order %v, want the order %s again", field(again, "order", "id"), oid)
	}

	if got := c.must(200, "GET", "/api/v1/products/"+pid, ""); field(got, "product", "stock") != float64(3) {
		t.Fatalf("stock after ordering 2 of 5 = %v, want 3", field(got, "product", "stock"))
	}
	if got := c.must(200, "GET", "/api/v1/orders/"+oid, ""); field(got, "order", "userId") != userID {
		t.Fatalf("get order %v", got)
	}
	list := c.must(200, "GET", "/api/v1/orders?user_id="+userID+"&page=1&page_size=10", "")
	if field(list, "total") != float64(1) {
		t.Fatalf("list orders %v, want total 1", list)
	}

	t.Run("chat", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ws := strings.Replace(s.GatewayURL, "http", "ws", 1) + "/api/v1/chat?room=e2e&access_token=" + c.token
		a, _, err := websocket.Dial(ctx, ws+"&user_id=alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.CloseNow()
		b, _, err := websocket.Dial(ctx, ws+"&user_id=bob", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.CloseNow()
		// Both are members before anyone speaks: wait until the room
		// has two.
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := c.must(200, "GET", "/api/v1/chat/rooms/e2e", "")
			if ms, _ := r["members"].([]any); len(ms) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("room members %v, want 2", r)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := a.Write(ctx, websocket.MessageText, []byte(`{"content":"hello from alice"}`)); err != nil {
			t.Fatal(err)
		}
		for name, conn := range map[string]*websocket.Conn{"alice": a, "bob": b} {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var reply map[string]any
			if err := json.Unmarshal(msg, &reply); err != nil || reply["content"] != "hello from alice" || reply["roomId"] != "e2e" {
				t.Fatalf("%s received %s", name, msg)
			}
		}
		a.Close(websocket.StatusNormalClosure, "")
		b.Close(websocket.StatusNormalClosure, "")
	})
}

// TestShopFaults: an invalid token is a 401 with the error body; going
// over the gateway's rate limit is a 429 with the error body.
func TestShopFaults(t *testing.T) {
	s, _ := startShop(t, 1)
	t.Run("invalid JWT", func(t *testing.T) {
		for _, tok := range []string{"", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad-signature"} {
			c := &client{t: t, base: s.GatewayURL, token: tok}
			code, m := c.do("GET", "/api/v1/products", "")
			if code != 401 || m["reason"] == nil || m["code"] != float64(401) {
				t.Errorf("token %q: %d %v, want 401 with the error body", tok, code, m)
			}
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		c := &client{t: t, base: s.GatewayURL}
		var limited atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				code, m := c.do("POST", "/api/v1/login", `{"email":"nobody@example.com","password":"wrong-password"}`)
				switch code {
				case 401:
				case 429:
					limited.Add(1)
					if m["code"] != float64(429) || m["reason"] == nil {
						t.Errorf("429 without the error body: %v", m)
					}
				default:
					t.Errorf("login: %d %v", code, m)
				}
			})
		}
		wg.Wait()
		if limited.Load() == 0 {
			t.Fatal("40 logins at once from one address, none limited (limit 10/s)")
		}
	})
}

// TestShopProductInstanceStops stops one of two product instances while
// orders keep coming: every order still succeeds (the instance drains:
// it leaves the registry and readiness first, then serves what it had).
func TestShopProductInstanceStops(t *testing.T) {
	s, _ := startShop(t, 2)
	c, userID := login(t, s.GatewayURL, "load@example.com")
	p := c.must(200, "POST", "/api/v1/products", `{"name":"Load item","price":"1.00","stock":100000}`)
	pid := field(p, "product", "id").(string)

	var ok, failed atomic.Int32
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"user_id":%q,"items":[{"product_id":%q,"quantity":1}]}`, userID, pid)
				code, m := c.do("POST", "/api/v1/orders", body, "Idempotency-Key", fmt.Sprintf("load-%d-%d", w, i))
				if code == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %v", code, m))
				}
			}
		})
	}
	// Some orders before the stop, some after: on a loaded machine an
	// order can take a while, so count rather than sleep.
	waitOrders := func(n int32) {
		deadline := time.Now().Add(30 * time.Second)
		for ok.Load() < n && failed.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitOrders(10)
	before := ok.Load()
	if err := s.Products[0].Stop(); err != nil {
		t.Errorf("stopping product-1: %v", err)
	}
	waitOrders(ok.Load() + 10)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d orders failed (%d succeeded); first: %v", failed.Load(), ok.Load(), firstErr.Load())
	}
	if before < 10 || ok.Load() < before+10 {
		t.Fatalf("orders: %d before the stop, %d in all; want some on each side", before, ok.Load())
	}
	got := c.must(200, "GET", "/api/v1/products/"+pid, "")
	if want := float64(100000 - ok.Load()); field(got, "product", "stock") != want {
		t.Fatalf("stock %v after %d orders, want %v (no lost or phantom stock)", field(got, "product", "stock"), ok.Load(), want)
	}
	t.Logf("%d orders, none failed, one of two product instances stopped after %d", ok.Load(), before)
}

func TestGatewayURL(t *testing.T) {
	for _, tc := range []struct{ bound, addr, want string }{
		{"[::]:8000", ":8000", "http://localhost:8000"},
		{"127.0.0.1:41234", "127.0.0.1:0", "http://127.0.0.1:41234"},
		{"0.0.0.0:8000", "0.0.0.0:8000", "http://localhost:8000"},
		{"10.0.0.5:8000", "", "http://localhost:8000"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if got := gatewayURL(tc.bound, tc.addr); got != tc.want {
				t.Fatalf("gatewayURL(%q, %q) = %q, want %q", tc.bound, tc.addr, got, tc.want)
			}
		})
	}
}

// TestRunRestart runs the shop as main does, stops it, and runs it again
// on the same data directory: the demo data is loaded once, and the
// welcome names the gateway and the demo user.
func TestRunRestart(t *testing.T) {
	t.Setenv("BCRYPT_COST", "4")
	t.Setenv("DRAIN_DELAY", "0s")
	t.Setenv("ADMIN_ADDR", "127.0.0.1:0")
	dir := t.TempDir()
	for i := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, options{Addr: "127.0.0.1:0", DataDir: dir, Logs: io.Discard}, out)
		}()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(out.String(), "Ctrl-C stops the shop") {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("run %d printed no welcome:\n%s", i, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		welcome := out.String()
		base := welcome[strings.Index(welcome, "http://"):]
		base = base[:strings.IndexAny(base, " \n")]
		if !strings.Contains(welcome, demoEmail) || !strings.Contains(welcome, "curl") {
			t.Fatalf("welcome:\n%s", welcome)
		}
		c := &client{t: t, base: base}
		lr := c.must(200, "POST", "/api/v1/login", fmt.Sprintf(`{"email":%q,"password":%q}`, demoEmail, demoPassword))
		c.token = lr["token"].(string)
		if got := c.must(200, "GET", "/api/v1/products", ""); field(got, "total") != float64(len(demoProducts)) {
			t.Fatalf("run %d: %v products, want the %d demo products once", i, field(got, "total"), len(demoProducts))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}
