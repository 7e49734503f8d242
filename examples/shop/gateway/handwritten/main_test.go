package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/examples/shop/order"
	"github.com/zelos-go/zelos/examples/shop/product"
	"github.com/zelos-go/zelos/examples/shop/user"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// run starts app until the test ends.
func run(t *testing.T, cancel context.CancelFunc, app *zelos.App, cleanup func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- app.Run() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if cleanup != nil {
			cleanup()
		}
	})
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestTutorialGateway runs the tutorial's hand-written gateway in front of
// the real user, product and order services on an in-memory registry.
func TestTutorialGateway(t *testing.T) {
	t.Setenv("DRAIN_DELAY", "0s")
	reg := registry.NewInMemory()
	quiet := log.NewStdLogger(io.Discard)
	dir := t.TempDir()
	type starter func(context.Context) (*zelos.App, func(), error)
	for _, start := range []starter{
		func(ctx context.Context) (*zelos.App, func(), error) {
			return user.NewApp(ctx, user.Options{Registry: reg, Logger: quiet, DataDir: dir, HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
		},
		func(ctx context.Context) (*zelos.App, func(), error) {
			return product.NewApp(ctx, product.Options{Registry: reg, Logger: quiet, DataDir: dir, HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
		},
		func(ctx context.Context) (*zelos.App, func(), error) {
			return order.NewApp(ctx, order.Options{Registry: reg, Logger: quiet, DataDir: dir, HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
		},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		app, cleanup, err := start(ctx)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		run(t, cancel, app, cleanup)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	gw, err := newGateway(ctx, addr, reg, "tutorial-secret")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	run(t, cancel, gw, nil)
	base := "http://" + addr
	tok, err := jwtv5.NewWithClaims(jwtv5.SigningMethodHS256, jwtv5.RegisteredClaims{
		Subject: "u1", ExpiresAt: jwtv5.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte("tutorial-secret"))
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path, body string, hdr ...string) (int, http.Header, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				return res.StatusCode, res.Header, string(b)
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	auth := []string{"Authorization", "Bearer " + tok, "Origin", "https://shop.example"}

	if code, _, body := send("GET", "/api/v1/users", ""); code != 401 {
		t.Fatalf("no token: %d %s", code, body)
	}
	code, h, body := send("POST", "/api/v1/users", `{"name":"ann","email":"ann@example.com","password":"s3cret-pass"}`, auth...)
	if code != 200 || !strings.Contains(body, "ann@example.com") || strings.Contains(body, "s3cret-pass") {
		t.Fatalf("create user: %d %s", code, body)
	}
	if h.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("cors.CORS() added no header: %v", h)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, body = send("GET", "/api/v1/users", "", auth...)
		if code == 200 && strings.Contains(body, "ann@example.com") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list users: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, body := send("POST", "/api/v1/users", `{"name":`, auth...); code != 400 {
		t.Fatalf("malformed body: %d %s", code, body)
	}
	if code, _, body := send("GET", "/api/v1/orders", "", auth...); code != 200 && code != 500 {
		t.Fatalf("list orders: %d %s", code, body)
	}
	code, h, _ = send("OPTIONS", "/api/v1/orders", "", "Origin", "https://shop.example", "Access-Control-Request-Method", "POST")
	if code != 204 || h.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("preflight: %d %v", code, h)
	}
}
