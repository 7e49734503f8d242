package kit

import (
	"context"
	"errors"
	"io"
	nethttp "net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServiceRuns(t *testing.T) {
	reg := registry.NewInMemory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var dbDown atomic.Bool
	svc, err := New(ctx, Options{
		Server:    conf.Server{Name: "kit.test", Version: "v1", Admin: conf.Listen{Addr: "127.0.0.1:0"}, DrainDelay: "0s"},
		HTTPAddr:  "127.0.0.1:0",
		GRPCAddr:  "127.0.0.1:0",
		Logger:    log.NewStdLogger(io.Discard),
		Registrar: reg,
		HealthChecks: []health.Check{{Name: "db", Func: func(context.Context) error {
			if dbDown.Load() {
				return errors.New("down")
			}
			return nil
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	http.Unary(svc.HTTP.Route(""), "GET", "/hello", "/kit/Hello", func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		return &struct{}{}, nil
	})
	app := svc.App()
	done := make(chan error, 1)
	go func() { done <- app.Run() }()

	ep, err := svc.HTTP.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ep.Host
	waitFor(t, func() bool {
		ins, _ := reg.GetService(ctx, "kit.test")
		return len(ins) == 1
	})
	get(t, base+"/hello", 200)
	get(t, base+"/readyz", 200)
	addr, err := svc.Admin.Addr()
	if err != nil {
		t.Fatal(err)
	}
	if body := get(t, "http://"+addr.String()+"/metrics", 200); !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics lacks the Go collector: %.200s", body)
	}
	dbDown.Store(true)
	get(t, base+"/readyz", 503)
	dbDown.Store(false)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("App did not stop when its context ended")
	}
}

func TestNewRejectsBadDurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    conf.Server
		want string
	}{
		{"drain", conf.Server{DrainDelay: "5"}, "server.drain_delay"},
		{"stop", conf.Server{StopTimeout: "-1s"}, "server.stop_timeout"},
		{"http", conf.Server{HTTP: conf.Listen{Timeout: "x"}}, "server.http.timeout"},
		{"grpc", conf.Server{GRPC: conf.Listen{Timeout: "x"}}, "server.grpc.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), Options{Server: tc.s})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := nethttp.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, b, want)
	}
	return string(b)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
