package zookeeper_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run a real ZooKeeper: Debian's zookeeper package, whose jar is
// started with the JVM in the foreground, one server per test, on a free
// loopback port and a data directory in t.TempDir().

// zkJar is where Debian's zookeeper package puts the server; ZOOKEEPER_JAR
// overrides it. The jar's manifest names the other jars it needs.
const zkJar = "/usr/share/java/zookeeper.jar"

// tick is the server's tickTime. Sessions last 2 to 20 ticks: 400ms to 4s.
const tick = 200 * time.Millisecond

// server is a ZooKeeper server run by a test.
type server struct {
	t       *testing.T
	java    string
	jar     string
	dir     string
	cfg     string
	addr    string
	logPath string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// startServer starts a ZooKeeper and stops it when the test ends. Without
// java or the jar the test is skipped, except in CI (CI=true), where that
// is a failure: CI must install the zookeeper package.
func startServer(t *testing.T) *server {
	t.Helper()
	java, err := exec.LookPath("java")
	jar := os.Getenv("ZOOKEEPER_JAR")
	if jar == "" {
		jar = zkJar
	}
	if err == nil {
		_, err = os.Stat(jar)
	}
	if err != nil {
		msg := fmt.Sprintf("no ZooKeeper to test against (%v); install it with: apt-get install -y zookeeper", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	s := &server{t: t, java: java, jar: jar, dir: dir, addr: freeAddr(t), logPath: filepath.Join(dir, "zookeeper.log")}
	_, port, _ := net.SplitHostPort(s.addr)
	s.cfg = filepath.Join(dir, "zoo.cfg")
	cfg := strings.Join([]string{
		fmt.Sprintf("tickTime=%d", tick.Milliseconds()),
		"dataDir=" + filepath.Join(dir, "data"),
		"clientPort=" + port,
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr",
		"", // a final newline
	}, "\n")
	if err := os.WriteFile(s.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the server and waits until it serves.
func (s *server) start() {
	s.t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(s.java,
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", // a small, quick JVM
		"-Dzookeeper.jmx.log4j.disable=true",
		"-cp", s.jar,
		"org.apache.zookeeper.server.ZooKeeperServerMain", s.cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the test binary, even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start ZooKeeper: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	begin := time.Now()
	for !serving(s.addr) {
		if time.Since(begin) > 60*time.Second {
			s.stop()
			s.t.Fatalf("ZooKeeper did not serve within 60s; its log:\n%s", s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Logf("ZooKeeper serving on %s after %v", s.addr, time.Since(begin).Round(time.Millisecond))
}

// stop kills the server, as a crash would, and waits for it.
func (s *server) stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// restart stops the server and starts it again on the same port and data.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

func (s *server) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// serving reports whether a ZooKeeper at addr serves requests. "ruok" is
// not enough: the server answers it before it has loaded its data, and
// closes the sessions opened meanwhile; "srvr" reports the mode it serves
// in only once it does.
func serving(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "srvr"); err != nil {
		return false
	}
	out, _ := io.ReadAll(c)
	return bytes.Contains(out, []byte("Mode: "))
}

// cutDialer dials ZooKeeper until it is cut: then it resets the
// connections it made and refuses new ones, as the network of a process
// that died or was partitioned away.
type cutDialer struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (d *cutDialer) dial(network, address string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return nil, fmt.Errorf("dial %s: cut off by the test", address)
	}
	c, err := net.DialTimeout(network, address, timeout)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

// setCut cuts the network off (true) or restores it (false).
func (d *cutDialer) setCut(cut bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = cut
	if cut {
		for _, c := range d.conns {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		}
		d.conns = nil
	}
}
