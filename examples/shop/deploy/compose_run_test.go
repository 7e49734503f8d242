package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// startEtcd runs a single-member etcd in the test process on loopback, in
// place of the compose file's etcd container, and returns its address.
func startEtcd(t *testing.T) string {
	t.Helper()
	cu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	pu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	cfg := embed.NewConfig()
	cfg.Name = "deploy-test"
	cfg.Dir = t.TempDir()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "fatal"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("etcd did not become ready")
	}
	return cu.Host
}

// imageConfig returns what a workload's image holds: its ENV and the
// repository directory it copies to /app/configs.
func imageConfig(t *testing.T, workload string) (env map[string]string, configs string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples/shop", workload, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	env = map[string]string{}
	for _, in := range parseDockerfile(string(data)) {
		switch in.cmd {
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from=build" && f[2] == "/app/configs" {
				configs = filepath.Join(repoRoot, strings.TrimPrefix(f[1], "/src/"))
			}
		}
	}
	if configs == "" {
		t.Fatalf("%s's Dockerfile copies nothing to /app/configs", workload)
	}
	// The processes run in their own temporary directories.
	configs, err = filepath.Abs(configs)
	if err != nil {
		t.Fatal(err)
	}
	return env, configs
}

// interpolation is compose's ${VAR:-default}.
var interpolation = regexp.MustCompile(`\$\{[A-Z0-9_]+:-([^}]*)\}`)

// composeEnv is a compose service's environment for a local run: the
// image's ENV under the service's, with compose's defaults for ${VAR:-x},
// every 0.0.0.0:N on a free loopback port, etcd at etcdAddr, the volume at
// /data as dataDir; the exporters' variables left out (no collector here).
func composeEnv(t *testing.T, image, service map[string]string, etcdAddr, dataDir string) (env []string, ports map[int32]int) {
	t.Helper()
	merged := map[string]string{}
	for k, v := range image {
		merged[k] = v
	}
	for k, v := range service {
		merged[k] = interpolation.ReplaceAllString(v, "$1")
	}
	ports = map[int32]int{}
	for k, v := range merged {
		switch {
		case strings.HasPrefix(k, "OTEL_"):
			continue
		case v == "etcd://etcd:2379":
			v = "etcd://" + etcdAddr
		case v == "/data":
			v = dataDir
		case strings.HasPrefix(v, "0.0.0.0:"):
			var cp int32
			if _, err := fmt.Sscanf(v, "0.0.0.0:%d", &cp); err != nil {
				t.Fatalf("%s=%s: %v", k, v, err)
			}
			ports[cp] = freshPort(t, ports)
			v = fmt.Sprintf("127.0.0.1:%d", ports[cp])
		}
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return append(env, "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir()), ports
}

// shopClient calls the shop through the gateway.
type shopClient struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

// do sends a JSON request and returns the status and the decoded reply.
func (c *shopClient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	_ = json.Unmarshal(data, &m)
	if len(m) == 0 {
		m["body"] = string(data)
	}
	return resp.StatusCode, m
}

// must is do, failing the test unless the status is 200.
func (c *shopClient) must(method, path, body string) map[string]any {
	c.t.Helper()
	code, m := c.do(method, path, body)
	if code != http.StatusOK {
		c.t.Fatalf("%s %s: %d %v", method, path, code, m)
	}
	return m
}

// field walks a decoded reply: field(m, "product", "stock").
func field(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// countInstances returns how many instances of service are registered in
// etcd (contrib/registry/etcd keeps one key per instance under
// /microservices/<service>/).
func countInstances(t *testing.T, etcdAddr, service string) int {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdAddr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/microservices/"+service+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.Count)
}

// testComposeTopology runs docker-compose.yaml's shop without Docker: each
// compose service (each replica) is its image's binary with its image's
// configs and its compose environment, etcd is embedded, the shop-data
// volume is one directory all of them share. Through the gateway it
// registers, logs in, creates a product and orders it; then it stops one
// of the two product replicas and orders again.
func testComposeTopology(t *testing.T, bin string) {
	etcdAddr := startEtcd(t)
	dataDir := t.TempDir()
	c := readCompose(t)
	var gateway *pod
	products := map[int]*pod{}
	for _, name := range shopWorkloads() {
		s := c.Services[name]
		replicas := 1
		if s.Deploy != nil && s.Deploy.Replicas > 0 {
			replicas = s.Deploy.Replicas
		}
		imageEnv, configs := imageConfig(t, name)
		ep := entrypoint(t, name)
		var args []string
		for _, a := range ep[1:] {
			args = append(args, strings.Replace(a, "/app/configs", configs, 1))
		}
		for i := range replicas {
			env, ports := composeEnv(t, imageEnv, s.Environment, etcdAddr, dataDir)
			p := startProcess(t, fmt.Sprintf("%s-%d", name, i+1), filepath.Join(bin, path.Base(ep[0])), args, env, ports)
			ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[httpPort])
			if err := p.await(&http.Client{Timeout: 2 * time.Second}, ready, http.StatusOK, 60*time.Second); err != nil {
				t.Fatalf("%s-%d: %v", name, i+1, err)
			}
			switch name {
			case "gateway":
				gateway = p
			case "product":
				products[i] = p
			}
		}
	}
	if n := countInstances(t, etcdAddr, "product.service"); n != 2 {
		t.Fatalf("%d product.service instances in etcd, want the compose file's 2 replicas", n)
	}

	shop := openSession(t, fmt.Sprintf("http://127.0.0.1:%d", gateway.ports[httpPort]), 5)
	shop.order()
	if got := shop.stock(); got != float64(4) {
		t.Errorf("stock after one order: %v, want 4", got)
	}

	// One product replica stops (docker compose stop, or a crash the
	// restart policy answers): it drains and deregisters, and orders keep
	// going to the other.
	stopped := products[0]
	if err := stopped.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stopped.exit:
		stopped.exit <- err
	case <-time.After(30 * time.Second):
		t.Fatal("the product replica did not stop within 30 s")
	}
	if n := countInstances(t, etcdAddr, "product.service"); n != 1 {
		t.Errorf("%d product.service instances in etcd after one stopped, want 1", n)
	}
	shop.order()
	shop.order()
	if got := shop.stock(); got != float64(2) {
		t.Errorf("stock after three orders: %v, want 2 (both replicas share product.db)", got)
	}
	if got := shop.orders(); got != float64(3) {
		t.Errorf("orders listed: %v, want 3", got)
	}
}

// shopSession is a user of the shop with a product in stock, through the
// gateway.
type shopSession struct {
	t                 *testing.T
	cl                *shopClient
	userID, productID string
}

// openSession registers a user (retrying while the gateway has not yet
// learnt the services from the registry), logs in and creates a product
// with stock items.
func openSession(t *testing.T, gatewayURL string, stock int) *shopSession {
	t.Helper()
	cl := &shopClient{t: t, base: gatewayURL, http: &http.Client{Timeout: 10 * time.Second}}
	email := fmt.Sprintf("deploy-%d@example.com", time.Now().UnixNano())
	register := fmt.Sprintf(`{"name":"Deploy","email":%q,"password":"deploy-password"}`, email)
	var user map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, m := cl.do("POST", "/api/v1/users", register)
		if code == http.StatusOK {
			user = m
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("register through the gateway: %d %v", code, m)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s := &shopSession{t: t, cl: cl}
	s.userID, _ = field(user, "user", "id").(string)
	login := cl.must("POST", "/api/v1/login", fmt.Sprintf(`{"email":%q,"password":"deploy-password"}`, email))
	cl.token, _ = field(login, "token").(string)
	if s.userID == "" || cl.token == "" {
		t.Fatalf("register %v, login %v: no user id or token", user, login)
	}
	prod := cl.must("POST", "/api/v1/products", fmt.Sprintf(`{"name":"Deploy mug","price":"2.50","stock":%d}`, stock))
	if s.productID, _ = field(prod, "product", "id").(string); s.productID == "" {
		t.Fatalf("create product: %v", prod)
	}
	return s
}

// order orders one of the product.
func (s *shopSession) order() {
	s.t.Helper()
	body := fmt.Sprintf(`{"user_id":%q,"items":[{"product_id":%q,"quantity":1}]}`, s.userID, s.productID)
	if o := s.cl.must("POST", "/api/v1/orders", body); field(o, "order", "id") == nil {
		s.t.Fatalf("order reply %v has no order id", o)
	}
}

// stock is the product's stock, as JSON decodes it.
func (s *shopSession) stock() any {
	s.t.Helper()
	return field(s.cl.must("GET", "/api/v1/products/"+s.productID, ""), "product", "stock")
}

// orders is how many orders the user's order list counts.
func (s *shopSession) orders() any {
	s.t.Helper()
	return field(s.cl.must("GET", "/api/v1/orders?user_id="+s.userID+"&page=1&page_size=10", ""), "total")
}
