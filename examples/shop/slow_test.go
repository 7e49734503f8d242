package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	next := func(called *bool) func(context.Context, any) (any, error) {
		return func(context.Context, any) (any, error) {
			*called = true
			return "reply", nil
		}
	}
	t.Run("waits then handles", func(t *testing.T) {
		var called bool
		begin := time.Now()
		reply, err := delay(20*time.Millisecond)(next(&called))(context.Background(), "req")
		if err != nil || reply != "reply" || !called {
			t.Fatalf("got %v, %v (called %v), want the handler's reply", reply, err, called)
		}
		if took := time.Since(begin); took < 20*time.Millisecond {
			t.Errorf("returned after %v, want at least the 20ms delay", took)
		}
	})
	t.Run("a cancelled request does not wait", func(t *testing.T) {
		var called bool
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := delay(time.Hour)(next(&called))(ctx, "req")
		if !errors.Is(err, context.Canceled) || called {
			t.Fatalf("got %v (called %v), want context.Canceled without the handler", err, called)
		}
	})
}

// TestSlowProduct starts the shop as -product-instances 2 -slow-product
// does and calls each product instance directly: the second answers no
// sooner than the delay, the first sooner. The delay is far above a local
// call's time so that a loaded machine does not blur the two.
func TestSlowProduct(t *testing.T) {
	const slow = 1500 * time.Millisecond
	t.Setenv("BCRYPT_COST", "4")
	t.Setenv("DRAIN_DELAY", "1s")
	t.Setenv("ADMIN_ADDR", "127.0.0.1:0")
	logs := &syncBuffer{}
	s, err := start(context.Background(), options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), ProductInstances: 2, Logs: logs, SlowProduct: slow})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	ins, err := s.Registry.GetService(context.Background(), "product.service")
	if err != nil || len(ins) != 2 {
		t.Fatalf("product instances: %v, %v", ins, err)
	}
	base := map[string]string{}
	for _, in := range ins {
		for _, e := range in.Endpoints {
			if strings.HasPrefix(e, "http://") {
				base[in.ID] = e
			}
		}
	}
	get := func(t *testing.T, url string) time.Duration {
		t.Helper()
		begin := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
		return time.Since(begin)
	}
	// The fast instance names a demo product to fetch from both.
	resp, err := http.Get(base[s.Products[0].ID()] + "/api/v1/products?page_size=1")
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Products []struct{ ID string } }
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || len(page.Products) != 1 {
		t.Fatalf("a page of products: %v, %v", page, err)
	}
	path := "/api/v1/products/" + page.Products[0].ID
	t.Run("the second instance is slow", func(t *testing.T) {
		if took := get(t, base[s.Products[1].ID()]+path); took < slow {
			t.Errorf("%s answered in %v, want at least %v", s.Products[1].Name, took, slow)
		}
	})
	t.Run("the welcome says which", func(t *testing.T) {
		var b strings.Builder
		printWelcome(&b, s)
		if want := "2 product instance(s), the last one 1.5s slower"; !strings.Contains(b.String(), want) {
			t.Errorf("welcome without %q:\n%s", want, b.String())
		}
	})
	t.Run("the first is not", func(t *testing.T) {
		if took := get(t, base[s.Products[0].ID()]+path); took >= slow {
			t.Errorf("%s answered in %v, want less than %v", s.Products[0].Name, took, slow)
		}
	})
}
