package prometheus_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	zprom "github.com/zelos-go/zelos/contrib/metrics/prometheus"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

var update = flag.Bool("update", false, "rewrite testdata/names.golden")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() log.Logger { return log.NewStdLogger(io.Discard) }

type echo struct {
	testpb.UnimplementedTestServiceServer
}

func (echo) UnaryCall(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if in.GetResponseSize() < 0 {
		return nil, errors.NotFound("USER_NOT_FOUND", "no user")
	}
	return &testpb.SimpleResponse{}, nil
}

// service is an HTTP and a gRPC server recording into one registry, and
// the admin listener serving /metrics.
type service struct {
	reg                *prometheus.Registry
	httpURL, adminAddr string
	grpcClient         testpb.TestServiceClient
}

func startService(t *testing.T) *service {
	t.Helper()
	reg := prometheus.NewRegistry()
	// A collector of the user's own, as the tutorial registers.
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_orders_total", Help: "Orders placed."}, []string{"status"})
	reg.MustRegister(requests)
	requests.WithLabelValues("ok").Add(3)

	mp, err := zprom.NewMeterProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	mw := metrics.Server(metrics.WithMeterProvider(mp))

	lis := listen(t)
	hs := http.NewServer(http.Listener(lis), http.Logger(quiet()), http.Middleware(mw))
	r := hs.Route("/")
	r.GET("/v1/users/{id}", func(ctx http.Context) error {
		switch ctx.Vars().Get("id") {
		case "missing":
			return errors.NotFound("USER_NOT_FOUND", "no user")
		case "boom":
			return errors.InternalServer("DB_DOWN", "database down")
		}
		return ctx.Result(200, map[string]string{"id": ctx.Vars().Get("id")})
	})
	r.Handle("", "/any", func(ctx http.Context) error { return ctx.String(200, "any method") })
	serve(t, hs)

	gs := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet()), grpc.Middleware(mw))
	testpb.RegisterTestServiceServer(gs, echo{})
	ep, err := gs.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	serve(t, gs)
	cc, err := grpc.DialInsecure(context.Background(), grpc.WithEndpoint(ep.String()), grpc.WithMiddleware(metrics.Client(metrics.WithMeterProvider(mp))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })

	admin := listen(t)
	mux := nethttp.NewServeMux()
	mux.Handle("/metrics", zprom.Handler(reg))
	as := &nethttp.Server{Handler: mux}
	go func() { _ = as.Serve(admin) }()
	t.Cleanup(func() { _ = as.Close() })

	return &service{reg: reg, httpURL: "http://" + lis.Addr().String(), adminAddr: admin.Addr().String(), grpcClient: testpb.NewTestServiceClient(cc)}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

type server interface {
	Start(context.Context) error
	Stop(context.Context) error
}

func serve(t *testing.T, s server) {
	done := make(chan error, 1)
	go func() { done <- s.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = s.Stop(context.Background())
		<-done
	})
}

// traffic makes requests with every outcome over both transports; the
// HTTP paths carry distinct IDs, which must not become distinct series.
func (s *service) traffic(t *testing.T) {
	t.Helper()
	for _, id := range []string{"1", "2", "3", "missing", "boom"} {
		res, err := nethttp.Get(s.httpURL + "/v1/users/" + id)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	req, _ := nethttp.NewRequest("BREW", s.httpURL+"/any", nil)
	if res, err := nethttp.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.grpcClient.UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true))
	_, _ = s.grpcClient.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: -1})
}

func (s *service) scrape(t *testing.T) []byte {
	t.Helper()
	res, err := nethttp.Get("http://" + s.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", res.StatusCode, err)
	}
	return b
}

// TestExpositionNames is the golden list of metric names, so that naming
// bugs (http_server_request_duration_seconds_bucket_bucket, a missing unit
// suffix) show up as a diff.
func TestExpositionNames(t *testing.T) {
	s := startService(t)
	s.traffic(t)
	out := s.scrape(t)
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names = append(names, f[2]+" "+f[3])
		}
	}
	slices.Sort(names)
	got := strings.Join(names, "\n") + "\n"
	golden := filepath.Join("testdata", "names.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("metric names changed (go test -update to accept):\n--- got\n%s--- want\n%s", got, want)
	}
	for _, want := range []string{
		`http_route="/v1/users/{id}"`,
		`http_response_status_code="404"`,
		`zelos_error_reason="USER_NOT_FOUND"`,
		`http_request_method="_OTHER"`,
		`rpc_method="grpc.testing.TestService/UnaryCall"`,
		`rpc_response_status_code="NOT_FOUND"`,
		`shop_orders_total{status="ok"} 3`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if bytes.Contains(out, []byte(`/v1/users/1"`)) {
		t.Error("a raw path became a label value")
	}
}

// tool finds a Prometheus binary: required in CI (.ci/run installs Debian's
// prometheus package), skipped elsewhere when missing.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed; .ci/run installs Debian's prometheus package", name)
		}
		t.Skipf("%s not installed (apt-get install prometheus)", name)
	}
	return p
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := tool(t, "promtool")
	s := startService(t)
	s.traffic(t)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(s.scrape(t))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestRealPrometheusScrapes runs Debian's Prometheus server on loopback,
// lets it scrape the service, and asks its HTTP query API for the request
// duration series.
func TestRealPrometheusScrapes(t *testing.T) {
	bin := tool(t, "prometheus")
	s := startService(t)
	s.traffic(t)

	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: zelos\n    static_configs:\n      - targets: [%q]\n", s.adminAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	web := listen(t)
	webAddr := web.Addr().String()
	web.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+webAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	query := `http_server_request_duration_seconds_count{http_route="/v1/users/{id}",http_response_status_code="404"}`
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := nethttp.Get("http://" + webAddr + "/api/v1/query?query=" + urlEscape(query))
		if err == nil {
			var body struct {
				Status string
				Data   struct {
					Result []struct {
						Metric map[string]string
						Value  []any
					}
				}
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if len(body.Data.Result) == 1 {
				m := body.Data.Result[0].Metric
				if m["job"] != "zelos" || m["http_request_method"] != "GET" || m["zelos_error_reason"] != "USER_NOT_FOUND" {
					t.Fatalf("series labels = %v", m)
				}
				if v := fmt.Sprint(body.Data.Result[0].Value[1]); v != "1" {
					t.Fatalf("404 count = %s, want 1", v)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never returned the series %s\nits log:\n%s", query, logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestCardinalityBounded sends requests with ten thousand distinct paths,
// methods and error reasons and checks the series stay few.
func TestCardinalityBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	mp, err := zprom.NewMeterProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Shutdown(context.Background())
	lis := listen(t)
	hs := http.NewServer(http.Listener(lis), http.Logger(quiet()), http.Middleware(metrics.Server(metrics.WithMeterProvider(mp), metrics.WithMaxSeries(50))))
	r := hs.Route("/")
	r.GET("/items/{id}", func(ctx http.Context) error {
		// A reason per request: the worst case of a careless handler.
		return errors.BadRequest("BAD_"+ctx.Vars().Get("id"), "bad")
	})
	r.Handle("", "/any/{n}", func(ctx http.Context) error { return ctx.String(200, "ok") })
	serve(t, hs)
	client := &nethttp.Client{}
	for i := range 600 {
		req, _ := nethttp.NewRequest([]string{"GET", "X" + fmt.Sprint(i)}[i%2], fmt.Sprintf("http://%s/items/%d", lis.Addr(), i), nil)
		if i%2 == 1 {
			req.URL.Path = fmt.Sprintf("/any/%d", i)
		}
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "http_server_request_duration_seconds" && len(mf.GetMetric()) > 60 {
			t.Fatalf("%d series after 600 requests with distinct paths, methods and reasons; want them bounded near 50", len(mf.GetMetric()))
		}
	}
}
