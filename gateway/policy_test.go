package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	jwtv5 "github.com/golang-jwt/jwt/v5"
	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/zelos-go/zelos/gateway/internal/testapi"
	"github.com/zelos-go/zelos/registry"
)

func token(t *testing.T, secret, sub string, exp time.Duration) string {
	t.Helper()
	s, err := jwtv5.NewWithClaims(jwtv5.SigningMethodHS256, jwtv5.RegisteredClaims{
		Subject: sub, ExpiresAt: jwtv5.NewNumericDate(time.Now().Add(exp)),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPolicies(t *testing.T) {
	echo := echoBackend(t, "echo")
	var fails atomic.Int64
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fails.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		fmt.Fprint(w, `{"code":500,"reason":"DB_DOWN","message":"database down"}`)
	}))
	defer failing.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		w.WriteHeader(200)
	}))
	defer slow.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"code":400,"reason":"BAD_NAME","message":"name is empty"}`)
	}))
	defer bad.Close()
	dead := deadAddr(t)

	cfg := fmt.Sprintf(`
policies:
  auth: {jwt: {secret: s3cret, forward_subject: X-User-Id}}
  cors: {cors: {allowed_origins: ["https://shop.example"]}}
  per-ip: {ratelimit: {key: ip, rate: 3, interval: 1m}}
  breaker: {breaker: {failure_ratio: 0.5, min_requests: 4, window: 10s, open_for: 1m, fallback: {status: 200, body: '{"fallback":true}'}}}
  retry: {retry: {attempts: 3, delay: 1ms}}
endpoints:
  - {path: /jwt, policies: [auth], backends: [{target: %[1]s}]}
  - {path: /cors, methods: [POST], policies: [cors], backends: [{target: %[1]s}]}
  - {path: /limited, policies: [per-ip], backends: [{target: %[1]s}]}
  - {path: /broken, policies: [breaker], backends: [{target: %[2]s}]}
  - {path: /retried, policies: [retry], backends: [{target: %[1]s}, {target: "http://%[3]s"}], balancer: roundrobin}
  - {path: /unretried, policies: [retry], backends: [{target: "http://%[3]s"}, {target: %[1]s}], balancer: roundrobin}
  - {path: /slow, timeout: 100ms, backends: [{target: %[4]s}]}
  - {path: /small, max_body: 10, backends: [{target: %[1]s}]}
  - {path: /bad, backends: [{target: %[5]s}]}
  - {path: /dead, backends: [{target: "http://%[3]s"}]}
  - {path: /none, backends: [{target: "discovery:///nobody"}]}
`, echo.URL, failing.URL, dead, slow.URL, bad.URL)
	_, url := startGateway(t, cfg, WithDiscovery(registry.NewInMemory()))

	t.Run("jwt", func(t *testing.T) {
		code, h, body := get(t, url+"/jwt")
		if code != 401 || !strings.Contains(body, `"code":401`) || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("no token: %d %v %s", code, h, body)
		}
		if code, _, body := get(t, url+"/jwt", "Authorization", "Bearer "+token(t, "wrong", "u1", time.Hour)); code != 401 {
			t.Fatalf("bad signature: %d %s", code, body)
		}
		if code, _, body := get(t, url+"/jwt", "Authorization", "Bearer "+token(t, "s3cret", "u1", -time.Hour)); code != 401 {
			t.Fatalf("expired: %d %s", code, body)
		}
		code, _, body = get(t, url+"/jwt", "Authorization", "Bearer "+token(t, "s3cret", "u1", time.Hour), "X-User-Id", "spoofed")
		if code != 200 || !strings.Contains(body, `"X-User-Id":["u1"]`) {
			t.Fatalf("good token: %d %s", code, body)
		}
	})
	t.Run("cors", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, url+"/cors", nil)
		req.Header.Set("Origin", "https://shop.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		code, h, _ := do(t, req)
		if code != 204 || h.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Fatalf("preflight: %d %v", code, h)
		}
		req, _ = http.NewRequest(http.MethodPost, url+"/cors", strings.NewReader("{}"))
		req.Header.Set("Origin", "https://evil.example")
		code, h, _ = do(t, req)
		if code != 200 || h.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("other origin: %d %v", code, h)
		}
	})
	t.Run("ratelimit", func(t *testing.T) {
		for i := range 3 {
			if code, _, body := get(t, url+"/limited"); code != 200 {
				t.Fatalf("request %d: %d %s", i, code, body)
			}
		}
		code, h, body := get(t, url+"/limited")
		if code != 429 || !strings.Contains(body, `"code":429`) || h.Get("Retry-After") == "" {
			t.Fatalf("over the limit: %d %v %s", code, h, body)
		}
	})
	t.Run("breaker with fallback", func(t *testing.T) {
		var last string
		for range 10 {
			code, _, body := get(t, url+"/broken")
			if code == 500 && !strings.Contains(body, `"reason":"DB_DOWN"`) {
				t.Fatalf("the backend's error body is not passed on: %s", body)
			}
			last = fmt.Sprint(code, body)
		}
		if last != `200{"fallback":true}` {
			t.Fatalf("open breaker: %s", last)
		}
		if n := fails.Load(); n >= 10 {
			t.Fatalf("the backend got %d requests; the open breaker sent none", n)
		}
	})
	t.Run("retry idempotent only", func(t *testing.T) {
		for i := range 6 {
			if code, _, body := get(t, url+"/retried"); code != 200 {
				t.Fatalf("GET %d: %d %s", i, code, body)
			}
		}
		failed := 0
		for range 4 {
			req, _ := http.NewRequest(http.MethodPost, url+"/unretried", strings.NewReader("x"))
			if code, _, _ := do(t, req); code == 502 {
				failed++
			}
		}
		if failed == 0 {
			t.Fatal("a POST without an idempotency key was retried")
		}
		for i := range 6 {
			req, _ := http.NewRequest(http.MethodPost, url+"/retried", strings.NewReader("payload"))
			req.Header.Set("Idempotency-Key", fmt.Sprint("k", i))
			code, _, body := do(t, req)
			if code != 200 || !strings.Contains(body, `"body":"payload"`) {
				t.Fatalf("POST with a key %d: %d %s", i, code, body)
			}
		}
	})
	t.Run("timeout names the service", func(t *testing.T) {
		start := time.Now()
		code, _, body := get(t, url+"/slow")
		if code != 504 || !strings.Contains(body, ReasonBackendTimeout) || !strings.Contains(body, strings.TrimPrefix(slow.URL, "http://")) {
			t.Fatalf("%d %s", code, body)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("body cap", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, url+"/small", strings.NewReader(strings.Repeat("x", 11)))
		code, _, body := do(t, req)
		if code != 413 || !strings.Contains(body, `"code":413`) {
			t.Fatalf("%d %s", code, body)
		}
		req, _ = http.NewRequest(http.MethodPost, url+"/small", strings.NewReader(strings.Repeat("x", 11)))
		req.ContentLength = -1 // chunked: refused while streaming to the backend
		code, _, body = do(t, req)
		if code != 413 {
			t.Fatalf("chunked: %d %s", code, body)
		}
	})
	t.Run("client errors pass through, not 502", func(t *testing.T) {
		code, _, body := get(t, url+"/bad")
		if code != 400 || !strings.Contains(body, `"reason":"BAD_NAME"`) {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("dead backend names the service", func(t *testing.T) {
		code, _, body := get(t, url+"/dead")
		if code != 502 || !strings.Contains(body, ReasonBackendUnavailable) {
			t.Fatalf("%d %s", code, body)
		}
		code, _, body = get(t, url+"/none")
		if code != 503 || !strings.Contains(body, "nobody") || strings.Contains(body, "127.0.0.1") {
			t.Fatalf("%d %s", code, body)
		}
	})
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

func TestStreamingPassThrough(t *testing.T) {
	release := make(chan struct{})
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "data: second\n\n")
	}))
	defer sse.Close()
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			if err := c.Write(r.Context(), typ, append([]byte("echo: "), b...)); err != nil {
				return
			}
		}
	}))
	defer ws.Close()
	grpcAddr := testapi.StartGRPC(t)
	cfg := fmt.Sprintf(`
endpoints:
  - {path: /events, timeout: 200ms, backends: [{target: %s}]}
  - {path: /ws, backends: [{target: %s}]}
  - {prefix: /grpc.health.v1.Health, protocol: grpc, backends: [{target: "grpc://%s"}]}
`, sse.URL, ws.URL, grpcAddr)
	_, url := startGateway(t, cfg)

	t.Run("sse is not buffered and outlives the timeout", func(t *testing.T) {
		res, err := http.Get(url + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		rd := bufio.NewReader(res.Body)
		line, err := rd.ReadString('\n')
		if err != nil || line != "data: first\n" {
			t.Fatalf("%q %v", line, err)
		}
		time.Sleep(300 * time.Millisecond) // past the endpoint's timeout
		close(release)
		_, _ = rd.ReadString('\n')
		line, err = rd.ReadString('\n')
		if err != nil || line != "data: second\n" {
			t.Fatalf("%q %v", line, err)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		for i := range 3 {
			msg := fmt.Sprint("hello ", i)
			if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, b, err := c.Read(ctx)
			if err != nil || string(b) != "echo: "+msg {
				t.Fatalf("%q %v", b, err)
			}
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	})
	t.Run("grpc", func(t *testing.T) {
		conn, err := ggrpc.NewClient(strings.TrimPrefix(url, "http://"), ggrpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%v %v", res, err)
		}
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
		if err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Fatalf("a gRPC error passes through: %v", err)
		}
	})
}

func TestTranscodeThroughGateway(t *testing.T) {
	addr := testapi.StartGRPC(t)
	reg := registry.NewInMemory()
	if err := reg.Register(context.Background(), &registry.ServiceInstance{ID: "lib-1", Name: "library", Endpoints: []string{"grpc://" + addr}}); err != nil {
		t.Fatal(err)
	}
	_, url := startGateway(t, `
endpoints:
  - {prefix: /v1, protocol: transcode, backends: [{target: "discovery:///library"}]}
`, WithDiscovery(reg))
	t.Run("path variables", func(t *testing.T) {
		code, _, body := get(t, url+"/v1/shelves/7/books/moby")
		if code != 200 || !strings.Contains(body, `"name":"shelves/7/books/moby"`) {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("query", func(t *testing.T) {
		code, _, body := get(t, url+"/v1/shelves/3/books?page_size=2")
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/echo", strings.NewReader(`{"text":"hi"}`))
		req.Header.Set("Content-Type", "application/json")
		code, _, body := do(t, req)
		if code != 200 || !strings.Contains(body, "hi") {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("errors", func(t *testing.T) {
		code, _, body := get(t, url+"/v1/shelves/7/books/missing")
		if code != 404 || !strings.Contains(body, `"reason":"BOOK_NOT_FOUND"`) {
			t.Fatalf("%d %s", code, body)
		}
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/echo", strings.NewReader(`{"message":`))
		req.Header.Set("Content-Type", "application/json")
		code, _, body = do(t, req)
		if code != 400 {
			t.Fatalf("malformed JSON: %d %s", code, body)
		}
		code, _, body = get(t, url+"/v1/nothing/here")
		if code != 404 {
			t.Fatalf("unknown route: %d %s", code, body)
		}
	})
}

func TestTranscodeUnreachableNamesTheService(t *testing.T) {
	reg := registry.NewInMemory()
	if err := reg.Register(context.Background(), &registry.ServiceInstance{ID: "x", Name: "library", Endpoints: []string{"grpc://" + deadAddr(t)}}); err != nil {
		t.Fatal(err)
	}
	_, url := startGateway(t, `
endpoints:
  - {prefix: /v1, protocol: transcode, timeout: 2s, backends: [{target: "discovery:///library"}]}
`, WithDiscovery(reg))
	code, _, body := get(t, url+"/v1/shelves/1")
	t.Logf("%d %s", code, body)
	if (code != 503 && code != 502) || !strings.Contains(body, "library") || strings.Contains(body, "127.0.0.1") {
		t.Fatalf("%d %s", code, body)
	}
}
