//go:build unix

package browser_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/auth"
	"github.com/zelos-go/zelos/middleware/auth/jwt"
	"github.com/zelos-go/zelos/middleware/cors"
	"github.com/zelos-go/zelos/middleware/selector"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "browser-test-secret-of-at-least-32-bytes"

// chromium returns the Chromium binary: $CHROMIUM, else chromium on the
// PATH. Without one the test is skipped, except in CI (CI=true), where a
// missing browser must not pass for a proof.
func chromium(t *testing.T) string {
	t.Helper()
	name := os.Getenv("CHROMIUM")
	if name == "" {
		name = "chromium"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (%v); in CI it must be installed: apt-get install -y chromium", name, err)
		}
		t.Skipf("%s not found (%v); install Debian's chromium to run the browser tests", name, err)
	}
	return p
}

// counts are what the API server saw.
type counts struct {
	preflights atomic.Int32 // OPTIONS preflights that reached the server
	inner      atomic.Int32 // OPTIONS requests that got past cors.CORS
	orders     atomic.Int32 // POST /v1/orders handled
}

// startAPI starts the Zelos API the pages call, in the tutorial gateway's
// shape: cors.CORS() first, then JWT authentication (here for /v1/orders
// only, so that /v1/hello shows a simple GET). It returns its base URL.
func startAPI(t *testing.T, allowedOrigin string, n *counts) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	countPreflights := func(next nethttp.Handler) nethttp.Handler {
		return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
			if r.Method == nethttp.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				n.preflights.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
	countInner := func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			if tr, ok := transport.FromServerContext(ctx); ok {
				if r, ok := tr.(interface{ Request() *nethttp.Request }); ok && r.Request().Method == nethttp.MethodOptions {
					n.inner.Add(1)
				}
			}
			return next(ctx, req)
		}
	}
	srv := http.NewServer(
		http.Listener(lis),
		http.Logger(log.NewStdLogger(io.Discard)),
		http.Filter(countPreflights),
		http.Middleware(
			cors.CORS(
				cors.WithAllowedOrigins(allowedOrigin),
				cors.WithExposedHeaders("WWW-Authenticate"),
				cors.WithMaxAge(600),
			),
			countInner,
			selector.Server(auth.JWTAuth(auth.WithSecret(secret))).Prefix("/v1/orders").Build(),
		),
	)
	r := srv.Route("/")
	r.GET("/v1/hello", func(ctx http.Context) error {
		return ctx.JSON(200, map[string]string{"message": "hello from zelos"})
	})
	r.POST("/v1/orders", func(ctx http.Context) error {
		var in struct {
			Item string `json:"item"`
			Qty  int    `json:"qty"`
		}
		if err := ctx.Bind(&in); err != nil {
			return err
		}
		claims, _ := jwt.FromContext(ctx)
		sub, _ := claims.GetSubject()
		n.orders.Add(1)
		return ctx.JSON(200, map[string]any{"item": in.Item, "qty": in.Qty, "user": sub})
	})
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		if err := <-done; err != nil {
			t.Errorf("API server: %v", err)
		}
	})
	return "http://" + lis.Addr().String()
}

// page is the script each page origin runs: three calls to the API (its
// URL and the token are in the page's query), then the outcome posted back
// to its own origin.
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>zelos cors</title></head><body>
<script>
const q = new URLSearchParams(location.search), api = q.get("api"), token = q.get("token");
async function call(path, init) {
	try {
		const res = await fetch(api + path, init);
		return {status: res.status, body: await res.json(), wwwAuthenticate: res.headers.get("WWW-Authenticate")};
	} catch (e) {
		return {error: String(e)};
	}
}
(async () => {
	const out = {origin: location.origin};
	out.get = await call("/v1/hello");
	out.post = await call("/v1/orders", {
		method: "POST",
		headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
		body: JSON.stringify({item: "book", qty: 2}),
	});
	out.unauthorized = await call("/v1/orders", {
		method: "POST",
		headers: {"Content-Type": "application/json"},
		body: "{}",
	});
	await fetch("/result", {method: "POST", body: JSON.stringify(out)});
})();
</script></body></html>`

// call is the outcome of one fetch in the page.
type call struct {
	Status          int            `json:"status"`
	Body            map[string]any `json:"body"`
	WWWAuthenticate string         `json:"wwwAuthenticate"`
	Error           string         `json:"error"`
}

type result struct {
	Origin       string `json:"origin"`
	Get          call   `json:"get"`
	Post         call   `json:"post"`
	Unauthorized call   `json:"unauthorized"`
}

// pageServer is a plain net/http server on its own loopback port, hence
// its own origin, serving the page and receiving its result.
type pageServer struct {
	origin  string
	results chan result
}

func startPage(t *testing.T) *pageServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &pageServer{origin: "http://" + lis.Addr().String(), results: make(chan result, 1)}
	mux := nethttp.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("POST /result", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		var res result
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
			nethttp.Error(w, err.Error(), 400)
			return
		}
		select {
		case ps.results <- res:
		default:
		}
	})
	mux.HandleFunc("GET /favicon.ico", func(w nethttp.ResponseWriter, _ *nethttp.Request) { w.WriteHeader(204) })
	hs := &nethttp.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(lis) }()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return ps
}

// load opens url in a fresh headless Chromium and returns the result its
// page posts back. Chromium and its helper processes are killed (as a
// process group) when the result is in or after a minute.
func load(t *testing.T, bin string, ps *pageServer, api, token string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		ps.origin+"/?"+url.Values{"api": {api}, "token": {token}}.Encode())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
	}()
	select {
	case res := <-ps.results:
		return res
	case err := <-exited:
		exited <- err
		t.Fatalf("chromium exited before the page reported (%v):\n%s", err, logs.String())
	case <-ctx.Done():
		t.Fatalf("no result from the page within a minute; chromium said:\n%s", logs.String())
	}
	return result{}
}

func token(t *testing.T) string {
	t.Helper()
	now := time.Now()
	s, err := jwtv5.NewWithClaims(jwtv5.SigningMethodHS256, jwtv5.MapClaims{
		"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCORSInChromium loads pages from two loopback origins that call a
// Zelos API on a third port: the allowed origin reads the JSON of a simple
// GET, of a preflighted POST with JSON and an Authorization header, and of
// the 401 the JWT middleware after cors.CORS() answers; the other origin
// is blocked by the browser, and its preflighted POST never reaches the
// handler.
func TestCORSInChromium(t *testing.T) {
	bin := chromium(t)
	tok := token(t)
	var n counts
	allowed := startPage(t)
	api := startAPI(t, allowed.origin, &n)

	t.Run("allowed origin", func(t *testing.T) {
		res := load(t, bin, allowed, api, tok)
		if res.Origin != allowed.origin {
			t.Fatalf("page origin %q, want %q", res.Origin, allowed.origin)
		}
		if res.Get.Error != "" || res.Get.Status != 200 || res.Get.Body["message"] != "hello from zelos" {
			t.Fatalf("GET /v1/hello: %+v", res.Get)
		}
		if res.Post.Error != "" || res.Post.Status != 200 || res.Post.Body["user"] != "alice" ||
			res.Post.Body["item"] != "book" || res.Post.Body["qty"] != float64(2) {
			t.Fatalf("preflighted POST /v1/orders: %+v", res.Post)
		}
		if res.Unauthorized.Error != "" || res.Unauthorized.Status != 401 || res.Unauthorized.Body["reason"] != "UNAUTHORIZED" ||
			!strings.HasPrefix(res.Unauthorized.WWWAuthenticate, "Bearer") {
			t.Fatalf("the 401 is not readable by the page: %+v", res.Unauthorized)
		}
		if n.preflights.Load() == 0 {
			t.Fatal("the browser sent no preflight: the POST proves nothing")
		}
		if n.orders.Load() != 1 {
			t.Fatalf("POST /v1/orders handled %d times, want 1", n.orders.Load())
		}
	})

	t.Run("disallowed origin", func(t *testing.T) {
		preflights, orders := n.preflights.Load(), n.orders.Load()
		res := load(t, bin, startPage(t), api, tok)
		for name, c := range map[string]call{"GET": res.Get, "POST": res.Post, "401": res.Unauthorized} {
			if !strings.Contains(c.Error, "Failed to fetch") || c.Status != 0 {
				t.Errorf("%s from %s: %+v, want the browser to block it", name, res.Origin, c)
			}
		}
		if n.preflights.Load() == preflights {
			t.Error("the browser sent no preflight for the disallowed origin")
		}
		if n.orders.Load() != orders {
			t.Error("a preflighted POST from a disallowed origin reached the handler")
		}
	})

	if got := n.inner.Load(); got != 0 {
		t.Fatalf("%d OPTIONS requests got past cors.CORS", got)
	}
}

// TestJWT401CarriesCORSHeaders checks, without a browser, what the page
// relies on: the 401 of the real JWT middleware after cors.CORS() carries
// the CORS headers, and the preflight of its POST-only route is answered
// by CORS before the JWT middleware could refuse it.
func TestJWT401CarriesCORSHeaders(t *testing.T) {
	const origin = "http://127.0.0.1:1"
	var n counts
	api := startAPI(t, origin, &n)
	client := &nethttp.Client{Transport: &nethttp.Transport{}}
	defer client.CloseIdleConnections()
	send := func(method string, kv ...string) *nethttp.Response {
		t.Helper()
		req, err := nethttp.NewRequest(method, api+"/v1/orders", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	t.Run("preflight", func(t *testing.T) {
		res := send("OPTIONS", "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization,content-type")
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != origin ||
			res.Header.Get("Access-Control-Allow-Headers") != "authorization,content-type" {
			t.Fatalf("status %d headers %v", res.StatusCode, res.Header)
		}
	})
	t.Run("401", func(t *testing.T) {
		res := send("POST", "Origin", origin, "Content-Type", "application/json")
		if res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") != origin ||
			res.Header.Get("Access-Control-Expose-Headers") != "WWW-Authenticate" ||
			!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") || res.Header.Get("Vary") != "Origin" {
			t.Fatalf("status %d headers %v", res.StatusCode, res.Header)
		}
	})
	t.Run("valid token", func(t *testing.T) {
		res := send("POST", "Origin", origin, "Content-Type", "application/json", "Authorization", "Bearer "+token(t))
		if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("status %d headers %v", res.StatusCode, res.Header)
		}
	})
	if n.inner.Load() != 0 {
		t.Fatal("the preflight got past cors.CORS")
	}
}
