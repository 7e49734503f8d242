package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// buildImages builds what the Dockerfiles build, the contract's packages,
// into a temporary directory and returns it. The build shares the race
// detector setting of this test, so under `go test -race` it reuses the
// packages the shop's own -race tests compiled.
func buildImages(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	for _, pkg := range dockerfiles() {
		args = append(args, pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return dir
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freshPort is freePort, never one of taken's: two ports asked for one
// after the other can be the same, since the first was released.
func freshPort(t *testing.T, taken map[int32]int) int {
	t.Helper()
	for {
		p := freePort(t)
		dup := false
		for _, q := range taken {
			dup = dup || q == p
		}
		if !dup {
			return p
		}
	}
}

// entrypoint returns the ENTRYPOINT of a workload's Dockerfile.
func entrypoint(t *testing.T, workload string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples/shop", workload, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range parseDockerfile(string(data)) {
		if in.cmd == "ENTRYPOINT" {
			var ep []string
			if err := json.Unmarshal([]byte(in.args), &ep); err != nil || len(ep) == 0 {
				t.Fatalf("ENTRYPOINT %s: want the exec form (%v)", in.args, err)
			}
			return ep
		}
	}
	t.Fatal("no ENTRYPOINT")
	return nil
}

// syncBuffer collects a process's output for the failure message.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pod is a workload run as a local process the way its Deployment runs it:
// the image's entrypoint, the ConfigMap at /app/configs, the Deployment's
// env, with each container port moved to a free loopback port.
type pod struct {
	cmd   *exec.Cmd
	out   *syncBuffer
	ports map[int32]int // container port -> local port
	exit  chan error
}

// cluster is what a local run puts in place of the cluster's services.
type cluster struct {
	// registry replaces etcd://etcd:2379: "memory", or etcd://127.0.0.1:port.
	registry string
	// postgres replaces postgres:5432 in db-secret's dsn; "" runs SQLite
	// instead, in the pod's data directory.
	postgres string
}

// podEnv is the Deployment's env for a local run: addresses on loopback
// ports, the registry and database of cl, the example Secrets for the
// rest. Variables for other programs (OTel exporters, GOMEMLIMIT from the
// limits) are left out.
func podEnv(t *testing.T, c corev1.Container, secrets map[string]map[string]string, cl cluster, dataDir string) (env []string, ports map[int32]int) {
	t.Helper()
	ports = map[int32]int{}
	for _, e := range c.Env {
		v := e.Value
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
			v = secrets[r.SecretKeyRef.Name][r.SecretKeyRef.Key]
		}
		switch {
		case e.Name == "REGISTRY":
			v = cl.registry
		case e.Name == "DATA_DIR":
			v = dataDir
		case e.Name == "DATABASE_DRIVER" && cl.postgres == "":
			v = "sqlite"
		case e.Name == "DATABASE_DSN" && cl.postgres == "":
			v = ""
		case e.Name == "DATABASE_DSN":
			u, err := url.Parse(v)
			if err != nil || u.Host != "postgres:5432" {
				t.Fatalf("db-secret dsn %q: want a postgres URL to postgres:5432 (%v)", v, err)
			}
			u.Host = cl.postgres
			v = u.String()
		case e.Name == "GOMEMLIMIT" || strings.HasPrefix(e.Name, "OTEL_"):
			continue
		case strings.HasPrefix(v, "0.0.0.0:"):
			var cp int32
			if _, err := fmt.Sscanf(v, "0.0.0.0:%d", &cp); err != nil {
				t.Fatalf("env %s=%s: %v", e.Name, v, err)
			}
			ports[cp] = freshPort(t, ports)
			v = fmt.Sprintf("127.0.0.1:%d", ports[cp])
		}
		env = append(env, e.Name+"="+v)
	}
	return append(env, "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir()), ports
}

func startPod(t *testing.T, bin string, d *appsv1.Deployment, cm *corev1.ConfigMap, secrets map[string]map[string]string, cl cluster) *pod {
	t.Helper()
	dir := t.TempDir()
	confDir := filepath.Join(dir, "configs")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range cm.Data {
		if err := os.WriteFile(filepath.Join(confDir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ep := entrypoint(t, d.Name)
	var args []string
	for _, a := range ep[1:] {
		args = append(args, strings.Replace(a, "/app/configs", confDir, 1))
	}
	c := d.Spec.Template.Spec.Containers[0]
	env, ports := podEnv(t, c, secrets, cl, filepath.Join(dir, "data"))
	return startProcess(t, d.Name, filepath.Join(bin, path.Base(ep[0])), args, env, ports)
}

// startProcess starts a binary in a temporary directory; it is killed, and
// its output logged if the test failed, when the test ends.
func startProcess(t *testing.T, name, binary string, args, env []string, ports map[int32]int) *pod {
	t.Helper()
	p := &pod{out: &syncBuffer{}, ports: ports, exit: make(chan error, 1)}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env, p.cmd.Dir = env, t.TempDir()
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exit <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exit
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// url is the local URL of a probe-style port (a name or a number of c's
// ports) and path.
func (p *pod) url(t *testing.T, c corev1.Container, port intstr.IntOrString, path string) string {
	t.Helper()
	cp, ok := containerPort(c, port)
	if !ok || p.ports[cp.ContainerPort] == 0 {
		t.Fatalf("port %s: no container port, or no env moving it", port.String())
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", p.ports[cp.ContainerPort], path)
}

// status GETs url and returns the status code, 0 when nothing answers.
func status(client *http.Client, url string) (int, string) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body)
}

// await polls url until it answers want, the process exits (which it
// reports at once, instead of waiting out a startup budget) or the time is
// up.
func (p *pod) await(client *http.Client, url string, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		code, body := status(client, url)
		if code == want {
			return nil
		}
		select {
		case err := <-p.exit:
			p.exit <- err // for the cleanup
			return fmt.Errorf("GET %s: the process exited (%v) before it answered %d", url, err, want)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: %d (%.200s), not %d within %v", url, code, body, want, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestImagesRun builds the Dockerfiles' packages once and runs them as
// the Kubernetes manifests and the compose file do.
func TestImagesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every service: not in -short")
	}
	bin := buildImages(t)
	t.Run("k8s", func(t *testing.T) { testWorkloadsServeTheirManifests(t, bin) })
	t.Run("compose", func(t *testing.T) { testComposeTopology(t, bin) })
	t.Run("k8s-topology", func(t *testing.T) { testK8sTopology(t, bin) })
}

// testWorkloadsServeTheirManifests runs each image's binary the way its
// Deployment runs it (the Dockerfile's entrypoint, the ConfigMap as
// /app/configs, the Deployment's env) and checks what the manifests
// assume of it: the probe paths answer on the probe ports, the admin port
// serves the probes and /metrics (the HTTP port does not serve /metrics),
// and on SIGTERM readiness fails at once while the pod keeps serving,
// then the process exits 0 within terminationGracePeriodSeconds.
func testWorkloadsServeTheirManifests(t *testing.T, bin string) {
	objs := loadObjects(t)
	secrets := map[string]map[string]string{}
	secs, _ := ofType[*corev1.Secret](objs)
	for _, s := range secs {
		secrets[s.Name] = s.StringData
	}
	deps, _ := ofType[*appsv1.Deployment](objs)
	for _, d := range deps {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			cm := configMapByName(objs, d.Name+"-config")
			if cm == nil {
				t.Fatalf("no ConfigMap %s-config", d.Name)
			}
			c := d.Spec.Template.Spec.Containers[0]
			p := startPod(t, bin, d, cm, secrets, cluster{registry: "memory"})
			client := &http.Client{Timeout: 2 * time.Second}

			// The startup probe's budget: failureThreshold x periodSeconds.
			startup := 60 * time.Second
			if sp := c.StartupProbe; sp != nil {
				startup = time.Duration(sp.FailureThreshold*sp.PeriodSeconds) * time.Second
			}
			ready := p.url(t, c, c.ReadinessProbe.HTTPGet.Port, c.ReadinessProbe.HTTPGet.Path)
			if err := p.await(client, ready, http.StatusOK, startup); err != nil {
				t.Fatalf("readiness within the startup probe's budget: %v", err)
			}
			live := p.url(t, c, c.LivenessProbe.HTTPGet.Port, c.LivenessProbe.HTTPGet.Path)
			checks := []struct {
				url  string
				want int
			}{
				{live, http.StatusOK},
				{p.url(t, c, intstr.FromString("admin"), "/healthz"), http.StatusOK},
				{p.url(t, c, intstr.FromString("admin"), "/readyz"), http.StatusOK},
				{p.url(t, c, intstr.FromString("admin"), "/metrics"), http.StatusOK},
				{p.url(t, c, intstr.FromString("http"), "/metrics"), http.StatusNotFound},
			}
			for _, ck := range checks {
				if code, body := status(client, ck.url); code != ck.want {
					t.Errorf("GET %s: %d, want %d (%.200s)", ck.url, code, ck.want, body)
				}
			}
			if _, body := status(client, p.url(t, c, intstr.FromString("admin"), "/metrics")); !strings.Contains(body, "# TYPE") {
				t.Errorf("admin /metrics is not the Prometheus text format: %.200s", body)
			}

			// The drain the manifests' grace period and readiness probe
			// are sized for.
			stopped := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := p.await(client, ready, http.StatusServiceUnavailable, time.Second); err != nil {
				t.Errorf("readiness after SIGTERM: %v", err)
			}
			if code, _ := status(client, live); code != http.StatusOK {
				t.Errorf("liveness %d right after SIGTERM: the pod must keep serving while it drains", code)
			}
			grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
			select {
			case err := <-p.exit:
				p.exit <- err // for the cleanup
				took := time.Since(stopped)
				if err != nil {
					t.Errorf("exit after SIGTERM: %v", err)
				}
				if took < contractDrain-time.Second {
					t.Errorf("exited %v after SIGTERM, before the %v drain ended", took, contractDrain)
				}
			case <-time.After(grace):
				t.Errorf("still running %v after SIGTERM: the kubelet would SIGKILL it", grace)
			}
		})
	}
}
