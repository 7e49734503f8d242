package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}

// quiet is a logger that drops everything, for tests.
var quiet = log.NewFilter(log.DefaultLogger, log.FilterLevel(log.LevelFatal))

// echoBackend answers with what it got, as JSON.
func echoBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", name)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"backend": name, "method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"body": string(body), "header": r.Header,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

// startGateway parses cfg, starts a gateway on loopback and returns its URL.
func startGateway(t *testing.T, cfg string, opts ...Option) (*Gateway, string) {
	t.Helper()
	c, err := ParseConfig([]byte(cfg), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithLogger(quiet), ServerOptions(listenerOpt(lis))}, opts...)
	g, err := New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Start(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Stop(ctx)
	})
	return g, "http://" + lis.Addr().String()
}

func get(t *testing.T, url string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestProxyFixedAndDiscovered(t *testing.T) {
	a := echoBackend(t, "a")
	b := echoBackend(t, "b")
	reg := registry.NewInMemory()
	if err := reg.Register(context.Background(), &registry.ServiceInstance{ID: "b1", Name: "user.service", Endpoints: []string{"grpc://127.0.0.1:1", b.URL}}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
endpoints:
  - path: /fixed/{id}
    methods: [GET]
    backends: [{target: %s}]
  - prefix: /api/v1/users
    backends: [{target: "discovery:///user.service"}]
    rewrite: {strip_prefix: /api, add_prefix: /internal}
    request_headers: {set: {X-Gateway: zelos}, remove: [X-Secret]}
    response_headers: {set: {X-Served-By: gateway}, remove: [X-Backend]}
`, a.URL)
	_, url := startGateway(t, cfg, WithDiscovery(reg))

	t.Run("fixed", func(t *testing.T) {
		code, _, body := get(t, url+"/fixed/42?x=1")
		if code != 200 || !strings.Contains(body, `"backend":"a"`) || !strings.Contains(body, `"path":"/fixed/42"`) || !strings.Contains(body, `"query":"x=1"`) {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("discovered with rewrite and headers", func(t *testing.T) {
		code, h, body := get(t, url+"/api/v1/users/7", "X-Secret", "s")
		if code != 200 || !strings.Contains(body, `"backend":"b"`) || !strings.Contains(body, `"path":"/internal/v1/users/7"`) {
			t.Fatalf("%d %s", code, body)
		}
		if strings.Contains(body, "X-Secret") || !strings.Contains(body, `"X-Gateway":["zelos"]`) || !strings.Contains(body, "X-Forwarded-For") {
			t.Fatalf("request headers: %s", body)
		}
		if h.Get("X-Backend") != "" || h.Get("X-Served-By") != "gateway" {
			t.Fatalf("response headers: %v", h)
		}
	})
	t.Run("prefix matches itself", func(t *testing.T) {
		if code, _, body := get(t, url+"/api/v1/users"); code != 200 || !strings.Contains(body, `"path":"/internal/v1/users"`) {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("prefix is segment bounded", func(t *testing.T) {
		code, _, body := get(t, url+"/api/v1/usersX")
		if code != 404 || !strings.Contains(body, `"reason":"NOT_FOUND"`) {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("method not allowed", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, url+"/fixed/1", nil)
		code, _, body := do(t, req)
		if code != 405 || !strings.Contains(body, "METHOD_NOT_ALLOWED") {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("probes", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			if code, _, body := get(t, url+p); code != 200 {
				t.Fatalf("%s: %d %s", p, code, body)
			}
		}
	})
}

func listenerOpt(lis net.Listener) zhttp.ServerOption { return zhttp.Listener(lis) }
