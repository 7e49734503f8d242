package zelos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport/http"
)

// drainChildEnv, set to a drain delay, makes TestDrainChild run the
// service of TestDrainUnderLoad.
const drainChildEnv = "ZELOS_TEST_DRAIN_CHILD"

// workTime is how long a request of the drained service takes, so that
// requests are in flight when SIGTERM arrives.
const workTime = 20 * time.Millisecond

// TestDrainChild is the standalone service TestDrainUnderLoad stops: an
// App with one HTTP server, run in a process of its own so that it gets a
// real SIGTERM. It prints its endpoint on stdout.
func TestDrainChild(t *testing.T) {
	delay := os.Getenv(drainChildEnv)
	if delay == "" {
		t.Skip("the service of TestDrainUnderLoad, run only as its child process")
	}
	d, err := time.ParseDuration(delay)
	if err != nil {
		t.Fatal(err)
	}
	hs := http.NewServer(http.Address("127.0.0.1:0"), http.Logger(log.NewStdLogger(io.Discard)))
	hs.HandleFunc("GET /work", func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		time.Sleep(workTime)
		_, _ = io.WriteString(w, "done")
	})
	u, err := hs.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTENING %s\n", u)
	app := New(Server(hs), Signal(syscall.SIGTERM), DrainDelay(d), StopTimeout(10*time.Second))
	if err := app.Run(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("STOPPED %d\n", time.Now().UnixNano())
}

// drainResult are the figures of one drain run.
type drainResult struct {
	before, after, failed  int64         // requests sent before and after SIGTERM, and failed
	unready, stopped, exit time.Duration // from SIGTERM to the load balancer's removal, Run's return, the exit
	firstErr               string
}

// TestDrainUnderLoad stops a service under load with SIGTERM while clients
// follow its /readyz as a load balancer does: a prober asks every 100ms and
// the clients send no new request once it has seen 3 failures in a row
// (the kubelet's default failureThreshold), so they keep sending for 200 to
// 300ms after SIGTERM. With a drain delay longer than that, no request
// fails. Without one, the
// servers close while clients still send, and requests fail; that run is
// logged for comparison, not asserted, as its count depends on timing.
//
//	go test -race -run TestDrainUnderLoad -v .
func TestDrainUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a service process")
	}
	t.Run("drain 1s", func(t *testing.T) {
		r := drainRun(t, time.Second)
		t.Logf("drain 1s: %d requests before SIGTERM, %d after, %d failed; removed from the pool after %v, Run returned after %v, the process exited after %v",
			r.before, r.after, r.failed, r.unready.Round(time.Millisecond), r.stopped.Round(time.Millisecond), r.exit.Round(time.Millisecond))
		if r.failed != 0 {
			t.Fatalf("%d requests failed during the drain, first: %s", r.failed, r.firstErr)
		}
		if r.after == 0 {
			t.Fatal("no request was sent after SIGTERM: the run proves nothing")
		}
	})
	t.Run("no drain, for comparison", func(t *testing.T) {
		// A figure for the record, not a check: it costs a service process,
		// so it runs with -v only.
		if !testing.Verbose() {
			t.Skip("run with -v to log the failures without a drain")
		}
		r := drainRun(t, 0)
		t.Logf("no drain: %d requests before SIGTERM, %d after, %d failed (first: %s); removed from the pool after %v, Run returned after %v",
			r.before, r.after, r.failed, r.firstErr, r.unready.Round(time.Millisecond), r.stopped.Round(time.Millisecond))
	})
}

// drainRun starts the service with drain delay d, loads it, sends SIGTERM
// and counts the requests that fail.
func drainRun(t *testing.T, d time.Duration) drainResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDrainChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), drainChildEnv+"="+d.String())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	endpoint := make(chan string, 1)
	var stoppedAt atomic.Int64 // when Run returned in the service
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				endpoint <- u
			}
			if ns, ok := strings.CutPrefix(sc.Text(), "STOPPED "); ok {
				n, _ := strconv.ParseInt(ns, 10, 64)
				stoppedAt.Store(n)
			}
		}
		exited <- cmd.Wait()
	}()
	var base string
	select {
	case base = <-endpoint:
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not start")
	}

	tr := &nethttp.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	client := &nethttp.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		routable atomic.Bool // the load balancer's view: /readyz said ready
		sigAt    atomic.Int64
		unready  atomic.Int64
		r        drainResult
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The prober, as a load balancer's health check.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ptr := &nethttp.Transport{}
		defer ptr.CloseIdleConnections()
		pc := &nethttp.Client{Transport: ptr, Timeout: time.Second}
		const failureThreshold = 3
		failures := 0
		for ctx.Err() == nil {
			ok := false
			if resp, err := pc.Get(base + "/readyz"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok = resp.StatusCode == 200
			}
			switch {
			case ok:
				failures = 0
				routable.Store(true)
			case routable.Load() && sigAt.Load() != 0:
				if failures++; failures == failureThreshold {
					unready.Store(time.Now().UnixNano())
					routable.Store(false)
					return
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// The clients: they send only while the load balancer routes to the
	// service.
	const clients = 8
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if !routable.Load() {
					if unready.Load() != 0 {
						return // removed from the pool for good
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				afterSig := sigAt.Load() != 0
				resp, err := client.Get(base + "/work")
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if afterSig {
					atomic.AddInt64(&r.after, 1)
				} else {
					atomic.AddInt64(&r.before, 1)
				}
				if err != nil {
					atomic.AddInt64(&r.failed, 1)
					errOnce.Do(func() { r.firstErr = err.Error() })
				}
			}
		}()
	}

	// Load for a while, then SIGTERM.
	deadline := time.Now().Add(30 * time.Second)
	for atomic.LoadInt64(&r.before) < 200 {
		if time.Now().After(deadline) {
			t.Fatal("the load did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	sigAt.Store(start.UnixNano())
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not exit after SIGTERM")
	}
	r.exit = time.Since(start)
	exited <- exitErr // for the deferred Kill
	cancel()
	wg.Wait()
	if exitErr != nil {
		t.Fatalf("the service exited with %v", exitErr)
	}
	if n := stoppedAt.Load(); n != 0 {
		r.stopped = time.Duration(n - start.UnixNano())
	}
	if u := unready.Load(); u != 0 {
		r.unready = time.Duration(u - start.UnixNano())
	}
	return r
}
