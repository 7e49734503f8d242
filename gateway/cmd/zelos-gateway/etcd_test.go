package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/zelos-go/zelos/gateway"
	"github.com/zelos-go/zelos/gateway/internal/testapi"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// wsBackend is a Zelos HTTP server with a WebSocket echo route and a
// users route, to register in etcd.
func wsBackend(t *testing.T, name string) (url string, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := zhttp.NewServer(zhttp.Listener(lis), zhttp.Logger(log.NewStdLogger(io.Discard)))
	srv.HandleFunc("GET /api/v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id":%q,"from":%q,"sub":%q}`, r.PathValue("id"), name, r.Header.Get("X-User-Id"))
	})
	srv.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if c.Write(r.Context(), typ, append([]byte(name+": "), b...)) != nil {
				return
			}
		}
	})
	done := make(chan struct{})
	go func() { _ = srv.Start(context.Background()); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Stop(ctx)
			<-done
		})
	}
	t.Cleanup(stop)
	return "http://" + lis.Addr().String(), stop
}

// TestGatewayOnEtcd runs the gateway with every backend found in a real
// (embedded) etcd: HTTP proxying with a JWT policy, transcoding to a gRPC
// backend, WebSocket pass-through, and an instance dying under load (it
// stays registered until its lease would expire, as a crashed process
// does).
func TestGatewayOnEtcd(t *testing.T) {
	etcdAddr := startEtcd(t)
	reg := etcdRegistry(t, etcdAddr)
	ctx := context.Background()
	var stops []func()
	for i := range 3 {
		u, stop := wsBackend(t, fmt.Sprint("u", i))
		stops = append(stops, stop)
		if err := reg.Register(ctx, &registry.ServiceInstance{ID: fmt.Sprint("u", i), Name: "user.service", Endpoints: []string{u}}); err != nil {
			t.Fatal(err)
		}
	}
	lib := testapi.StartGRPC(t)
	if err := reg.Register(ctx, &registry.ServiceInstance{ID: "lib", Name: "library", Endpoints: []string{"grpc://" + lib}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := gateway.ParseConfig([]byte(`
policies:
  auth: {jwt: {secret: s3cret, forward_subject: X-User-Id}}
  retry: {retry: {attempts: 3, delay: 1ms, budget_ratio: 0.5}}
endpoints:
  - {prefix: /api/v1/users, policies: [auth, retry], backends: [{target: "discovery:///user.service"}]}
  - {path: /ws, policies: [], backends: [{target: "discovery:///user.service"}]}
  - {prefix: /v1, protocol: transcode, policies: [], backends: [{target: "discovery:///library"}]}
`), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.WithDiscovery(reg), gateway.WithLogger(log.NewStdLogger(io.Discard)),
		gateway.ServerOptions(zhttp.Listener(lis)))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gw.Start(ctx) }()
	defer func() { _ = gw.Stop(ctx) }()
	base := "http://" + lis.Addr().String()
	tok, _ := jwtv5.NewWithClaims(jwtv5.SigningMethodHS256, jwtv5.RegisteredClaims{Subject: "ann", ExpiresAt: jwtv5.NewNumericDate(time.Now().Add(time.Hour))}).SignedString([]byte("s3cret"))
	authGet := func(path string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}

	t.Run("proxy with jwt", func(t *testing.T) {
		waitGet(t, base+"/api/v1/users/1", 401, "UNAUTHORIZED")
		code, body, err := authGet("/api/v1/users/7")
		if err != nil || code != 200 || !strings.Contains(body, `"sub":"ann"`) {
			t.Fatalf("%d %s %v", code, body, err)
		}
	})
	t.Run("transcode", func(t *testing.T) {
		body := waitGet(t, base+"/v1/shelves/7/books/moby", 200, "shelves/7/books/moby")
		if !strings.Contains(body, `"name"`) {
			t.Fatal(body)
		}
		waitGet(t, base+"/v1/shelves/7/books/missing", 404, "BOOK_NOT_FOUND")
	})
	t.Run("websocket", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(wctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, b, err := c.Read(wctx); err != nil || !strings.HasSuffix(string(b), ": hi") {
			t.Fatalf("%q %v", b, err)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	})
	t.Run("instance dies under load", func(t *testing.T) {
		var ok, failed atomic.Int64
		var killed atomic.Bool
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := killed.Load()
					code, _, err := authGet("/api/v1/users/1")
					if !after {
						continue
					}
					if err != nil || code != 200 {
						failed.Add(1)
					} else {
						ok.Add(1)
					}
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		stops[1]() // the listener closes; the instance stays in etcd
		time.Sleep(100 * time.Millisecond)
		killed.Store(true)
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wg.Wait()
		total := ok.Load() + failed.Load()
		t.Logf("after the kill: %d ok, %d failed", ok.Load(), failed.Load())
		if total < 100 || float64(failed.Load()) >= 0.01*float64(total) {
			t.Fatalf("after the kill: %d ok, %d failed", ok.Load(), failed.Load())
		}
	})
}
