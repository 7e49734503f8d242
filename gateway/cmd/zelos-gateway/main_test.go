package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEtcd runs a single-member etcd in the test process and returns its
// client address.
func startEtcd(t *testing.T) string {
	t.Helper()
	cu := url.URL{Scheme: "http", Host: freeAddr(t)}
	pu := url.URL{Scheme: "http", Host: freeAddr(t)}
	cfg := embed.NewConfig()
	cfg.Name = "gateway-test"
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
	case <-time.After(20 * time.Second):
		t.Fatal("etcd did not become ready")
	}
	return cu.Host
}

// etcdRegistry is the Zelos etcd registry on a client of the etcd at
// addr, closed when the test ends.
func etcdRegistry(t *testing.T, addr string) *etcd.Registry {
	t.Helper()
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return etcd.New(client)
}

// backend starts a Zelos HTTP server answering GET /api/v1/users/{id}.
func backend(t *testing.T, name string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := zhttp.NewServer(zhttp.Listener(lis), zhttp.Logger(log.NewFilter(log.DefaultLogger, log.FilterLevel(log.LevelFatal))))
	srv.HandleFunc("GET /api/v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id":%q,"from":%q}`, r.PathValue("id"), name)
	})
	go func() { _ = srv.Start(context.Background()) }()
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return "http://" + lis.Addr().String()
}

func waitGet(t *testing.T, u string, want int, contains string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(u)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode == want && strings.Contains(string(b), contains) {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never gave %d with %q (last err %v)", u, want, contains, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestZelosGatewayWithEtcd runs the command's run with backends registered
// in a real (embedded) etcd: it routes to them, follows a config file
// change, and serves Prometheus metrics per route on its admin port.
func TestZelosGatewayWithEtcd(t *testing.T) {
	etcdAddr := startEtcd(t)
	reg := etcdRegistry(t, etcdAddr)
	for i := range 2 {
		u := backend(t, fmt.Sprint("user-", i))
		if err := reg.Register(context.Background(), &registry.ServiceInstance{ID: fmt.Sprint("u", i), Name: "user.service", Endpoints: []string{u}}); err != nil {
			t.Fatal(err)
		}
	}
	listen, adminAddr := freeAddr(t), freeAddr(t)
	conf := filepath.Join(t.TempDir(), "gateway.yaml")
	write := func(prefix string) {
		y := fmt.Sprintf("listen: %s\nadmin: %s\nregistry: etcd://%s\nendpoints:\n  - {prefix: %s, rewrite: {strip_prefix: %s, add_prefix: /api/v1/users}, backends: [{target: \"discovery:///user.service\"}]}\n",
			listen, adminAddr, etcdAddr, prefix, prefix)
		if err := os.WriteFile(conf+".tmp", []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(conf+".tmp", conf); err != nil {
			t.Fatal(err)
		}
	}
	write("/users")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, conf, "", "", log.NewFilter(log.DefaultLogger, log.FilterLevel(log.LevelError)))
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("run did not return")
		}
	}()
	waitGet(t, "http://"+listen+"/users/7", 200, `"id":"7"`)
	waitGet(t, "http://"+listen+"/readyz", 200, "")

	write("/people")
	waitGet(t, "http://"+listen+"/people/8", 200, `"id":"8"`)
	waitGet(t, "http://"+listen+"/users/7", 404, "NOT_FOUND")

	metrics := waitGet(t, "http://"+adminAddr+"/metrics", 200, "http_server_request_duration_seconds")
	if !strings.Contains(metrics, `http_route="/people/**"`) {
		t.Fatalf("no per-route series:\n%s", metrics)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(metrics)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not on PATH: metrics lint skipped")
	}
}
