package deploy

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// postgresBin finds the PostgreSQL server programs (Debian's
// postgresql-NN keeps them out of PATH, in /usr/lib/postgresql/NN/bin).
func postgresBin() string {
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin/initdb", "/usr/local/pgsql/bin/initdb"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return filepath.Dir(m[len(m)-1])
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// startPostgres runs a PostgreSQL server for the test, in postgres.yaml's
// place: database and user as it sets them (shop), the password from the
// example db-secret. The server refuses to run as root, so as root it runs
// as the postgres user. It returns the server's host:port.
func startPostgres(t *testing.T, password string) string {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		t.Skip("no PostgreSQL server (initdb): skipped (apt-get install postgresql to run it)")
	}
	dir, err := os.MkdirTemp("", "deploy-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// As root, the server runs as the postgres user: a credential on the
	// process itself (not runuser), so signals reach the server directly.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = dir
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return cmd
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", "shop", "--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	srv := run("postgres", "-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	out := &syncBuffer{}
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt) // a fast shutdown
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("postgres output:\n%s", out.String())
		}
	})
	host := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		create := exec.Command(filepath.Join(bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "shop", "shop")
		create.Env = append(os.Environ(), "PGPASSWORD="+password)
		msg, err := create.CombinedOutput()
		if err == nil {
			return host
		}
		if time.Now().After(deadline) {
			t.Fatalf("createdb shop: %v\n%s", err, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testK8sTopology runs the cluster of k8s/ without a cluster: every
// Deployment as its Deployment runs it (ConfigMap, env, the example
// Secrets as they are), etcd embedded for etcd.yaml, and a PostgreSQL
// server for postgres.yaml, which db-secret selects: user, product and
// order then keep their tables in the one database, as the manifests
// have them. Through the gateway it registers, logs in, creates a product
// and orders it.
func testK8sTopology(t *testing.T, bin string) {
	objs := loadObjects(t)
	secrets := map[string]map[string]string{}
	secs, _ := ofType[*corev1.Secret](objs)
	for _, s := range secs {
		secrets[s.Name] = s.StringData
	}
	if secrets["db-secret"]["driver"] != "postgres" {
		t.Fatalf("db-secret driver %q: the manifests' database is postgres.yaml", secrets["db-secret"]["driver"])
	}
	cl := cluster{postgres: startPostgres(t, secrets["db-secret"]["password"])}
	cl.registry = "etcd://" + startEtcd(t)
	deps, _ := ofType[*appsv1.Deployment](objs)
	var gateway *pod
	for _, d := range deps {
		cm := configMapByName(objs, d.Name+"-config")
		if cm == nil {
			t.Fatalf("no ConfigMap %s-config", d.Name)
		}
		p := startPod(t, bin, d, cm, secrets, cl)
		ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", p.ports[httpPort])
		if err := p.await(&http.Client{Timeout: 2 * time.Second}, ready, http.StatusOK, 60*time.Second); err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		if d.Name == "gateway" {
			gateway = p
		}
	}
	shop := openSession(t, fmt.Sprintf("http://127.0.0.1:%d", gateway.ports[httpPort]), 3)
	shop.order()
	shop.order()
	if got := shop.stock(); got != float64(1) {
		t.Errorf("stock after two orders: %v, want 1", got)
	}
	if got := shop.orders(); got != float64(2) {
		t.Errorf("orders listed: %v, want 2", got)
	}
}
