package main

import (
	"bytes"
	"context"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/registry"
)

// startEtcd runs a single-member etcd in the test process, on loopback
// ports and a fresh data directory, and returns its client URL. It stops
// when the test ends.
func startEtcd(t *testing.T) string {
	t.Helper()
	cu := url.URL{Scheme: "http", Host: freeAddr(t)}
	pu := url.URL{Scheme: "http", Host: freeAddr(t)}
	cfg := embed.NewConfig()
	cfg.Name = "helloworld-test"
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

// instances polls etcd until the helloworld instances are want in number,
// and returns their IDs.
func instances(t *testing.T, r registry.Discovery, want int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := r.GetService(context.Background(), "helloworld")
		if err == nil && len(list) == want {
			ids := make([]string, len(list))
			for i, ins := range list {
				ids[i] = ins.ID
			}
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d helloworld instances in etcd, have %d (err %v)", want, len(list), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callClient runs the binary in client mode and returns its stdout and
// stderr.
func callClient(t *testing.T, etcdAddr string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"-conf", "configs/config.yaml", "-registry", "etcd://" + etcdAddr}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("client %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// servedBy returns the instances named by the client's "served by" lines.
func servedBy(stderr string) []string {
	var ids []string
	for _, line := range strings.Split(stderr, "\n") {
		if id, ok := strings.CutPrefix(line, "served by "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestEtcdDiscovery runs two servers and a client as separate processes
// that find each other through etcd.
func TestEtcdDiscovery(t *testing.T) {
	addr := startEtcd(t)
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reg := etcd.New(c)

	a := start(t, "-registry", "etcd://"+addr)
	start(t, "-registry", "etcd://"+addr)
	ids := instances(t, reg, 2)

	// Each client process dials anew and calls 10 times. Balancing only
	// spreads calls over the instances already connected, so one run may
	// finish before the second connection is up: allow a few runs.
	const calls = 10
	seen := map[string]int{}
	for run := 1; run <= 3 && len(seen) < len(ids); run++ {
		stdout, stderr := callClient(t, addr, "-call", "zelos", "-n", strconv.Itoa(calls))
		replies := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(replies) != calls || slices.ContainsFunc(replies, func(r string) bool { return r != "Hello zelos" }) {
			t.Fatalf("client printed %q, want %d lines of \"Hello zelos\"", stdout, calls)
		}
		served := servedBy(stderr)
		if len(served) != calls {
			t.Fatalf("client reported %d serving instances, want %d:\n%s", len(served), calls, stderr)
		}
		t.Logf("run %d: %d calls served by %v", run, calls, served)
		for _, id := range served {
			if !slices.Contains(ids, id) {
				t.Fatalf("call served by %s, which is not registered (%v)", id, ids)
			}
			seen[id]++
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("calls served by %v, want both instances %v", seen, ids)
	}

	// A server stopped with SIGTERM deregisters before it stops: the next
	// client finds only the other one.
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.exited:
		if err != nil {
			t.Fatalf("server exited with %v\n%s", err, a.out.String())
		}
		a.exited <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	left := instances(t, reg, 1)
	stdout, stderr := callClient(t, addr, "-call", "again", "-n", "3")
	if got := strings.TrimSpace(stdout); got != "Hello again\nHello again\nHello again" {
		t.Fatalf("after a server stopped, client printed %q", stdout)
	}
	for _, id := range servedBy(stderr) {
		if id != left[0] {
			t.Fatalf("call served by %s, want the remaining instance %s", id, left[0])
		}
	}
}

// TestClientNeedsRegistry checks that client mode refuses the in-memory
// registry, which no other process can see.
func TestClientNeedsRegistry(t *testing.T) {
	out, err := exec.Command(binary(t), "-call", "zelos").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-call needs -registry") {
		t.Fatalf("client without -registry: %v\n%s", err, out)
	}
}

// TestMain checks that the tests, which run etcd in-process, leak no
// goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
