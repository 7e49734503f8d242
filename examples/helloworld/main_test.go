package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/zelos-go/zelos/errors"
	v1 "github.com/zelos-go/zelos/examples/helloworld/api/helloworld/v1"
)

// service is the helloworld binary running as a child process.
type service struct {
	cmd       *exec.Cmd
	httpAddr  string
	grpcAddr  string
	adminAddr string
	out       *syncBuffer
	exited    chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// binary builds the helloworld command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "helloworld-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "helloworld")
		out, err := exec.Command("go", "build", "-race", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the service with the repository's config file, the ports
// overridden from the environment and args appended to its command line, and
// waits until the ports answer.
func start(t *testing.T, args ...string) *service {
	t.Helper()
	return startEnv(t, nil, args...)
}

// startEnv is start with env added to the service's environment.
func startEnv(t *testing.T, env []string, args ...string) *service {
	t.Helper()
	s := &service{httpAddr: freeAddr(t), grpcAddr: freeAddr(t), adminAddr: freeAddr(t), out: &syncBuffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(binary(t), append([]string{"-conf", "configs/config.yaml"}, args...)...)
	s.cmd.Env = append(os.Environ(),
		"HELLOWORLD_SERVER_HTTP_ADDR="+s.httpAddr,
		"HELLOWORLD_SERVER_GRPC_ADDR="+s.grpcAddr,
		// Each instance its own admin port: the etcd test runs two.
		"HELLOWORLD_SERVER_ADMIN_ADDR="+s.adminAddr,
	)
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("service output:\n%s", s.out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range []string{s.httpAddr, s.grpcAddr, s.adminAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("service did not listen on %s: %v\n%s", addr, err, s.out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := nethttp.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q, body %s", url, ct, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: body %s: %v", url, body, err)
	}
	return resp.StatusCode
}

func grpcurl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("grpcurl")
	if err != nil {
		t.Fatal("grpcurl is not installed: run scripts/tools.sh (make test does)")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestHelloworld(t *testing.T) {
	s := start(t)
	base := "http://" + s.httpAddr

	t.Run("HTTP", func(t *testing.T) {
		var reply struct{ Message string }
		if code := getJSON(t, base+"/helloworld/zelos", &reply); code != 200 || reply.Message != "Hello zelos" {
			t.Fatalf("got %d %+v", code, reply)
		}
	})

	t.Run("gRPC", func(t *testing.T) {
		conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := v1.NewGreeterClient(conn)
		reply, err := c.SayHello(ctx, &v1.HelloRequest{Name: "grpc"})
		if err != nil || reply.GetMessage() != "Hello grpc" {
			t.Fatalf("SayHello = %v, %v", reply, err)
		}
		_, err = c.SayHello(ctx, &v1.HelloRequest{})
		if e := errors.FromError(err); e.Code != 400 || e.Reason != "VALIDATOR" {
			t.Fatalf("empty name over gRPC: %+v", e)
		}
		stream, err := c.SayHelloStream(ctx, &v1.HelloRequest{Name: "s", Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			r, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.GetMessage())
		}
		if len(got) != 2 || got[1] != "Hello s (2/2)" {
			t.Fatalf("stream = %v", got)
		}
	})

	t.Run("grpcurl", func(t *testing.T) {
		if out := grpcurl(t, "-plaintext", s.grpcAddr, "list"); !strings.Contains(out, "helloworld.v1.Greeter") {
			t.Fatalf("list does not show the service:\n%s", out)
		}
		out := grpcurl(t, "-plaintext", "-d", `{"name":"curl"}`, s.grpcAddr, "helloworld.v1.Greeter/SayHello")
		if !strings.Contains(out, `"message": "Hello curl"`) {
			t.Fatalf("call:\n%s", out)
		}
		if out := grpcurl(t, "-plaintext", s.grpcAddr, "grpc.health.v1.Health/Check"); !strings.Contains(out, "SERVING") {
			t.Fatalf("health:\n%s", out)
		}
	})

	t.Run("SSE", func(t *testing.T) {
		resp, err := nethttp.Get(base + "/helloworld/sse/stream?count=2")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("content type %q", ct)
		}
		var data []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				data = append(data, strings.TrimSpace(d))
			}
		}
		if len(data) != 2 || !strings.Contains(data[1], "Hello sse (2/2)") {
			t.Fatalf("events = %v", data)
		}
	})

	t.Run("BadRequest", func(t *testing.T) {
		for _, path := range []string{
			"/helloworld/" + strings.Repeat("x", 100), // fails validation
			"/helloworld/bob?count=abc",               // bad query value
		} {
			var e errors.Error
			if code := getJSON(t, base+path, &e); code != 400 || e.Code != 400 || e.Reason == "" || e.Message == "" {
				t.Errorf("GET %s: %d %+v", path, code, e)
			}
		}
		var e errors.Error
		if code := getJSON(t, base+"/nope", &e); code != 404 || e.Code != 404 {
			t.Errorf("unknown path: %d %+v", code, e)
		}
	})

	t.Run("PanicRecovers", func(t *testing.T) {
		var e errors.Error
		if code := getJSON(t, base+"/helloworld/panic", &e); code != 500 || e.Code != 500 {
			t.Fatalf("panic: %d %+v", code, e)
		}
		var reply struct{ Message string }
		if code := getJSON(t, base+"/helloworld/after", &reply); code != 200 || reply.Message != "Hello after" {
			t.Fatalf("after panic: %d %+v", code, reply)
		}
	})
}

func TestGracefulStopFinishesSlowRequest(t *testing.T) {
	s := start(t)
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := nethttp.Get("http://" + s.httpAddr + "/helloworld/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	// Let the request reach the handler, then ask the service to stop.
	time.Sleep(300 * time.Millisecond)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, "Hello slow") {
		t.Fatalf("slow request during stop: %+v", r)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("service exited with %v", err)
		}
		s.exited <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("service did not exit after SIGTERM")
	}
}
