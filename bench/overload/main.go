// Command overload measures what the adaptive limiter buys under overload.
//
// It starts a Zelos HTTP server pinned to CPU 0 (taskset, GOMAXPROCS=1)
// whose handler burns a fixed amount of CPU, measures its capacity with a
// closed loop, then offers open-loop load at 1×, 2× and 3× that capacity
// from a generator pinned to CPU 1, with and without ratelimit.Server()
// (BBR, on the server process's own CPU). For each run it reports goodput
// (successful replies within the 1 s SLO, per second) and the p99 latency
// of the admitted requests.
//
//	cd bench && go run ./overload            # full table, about 1.5 minutes
//	cd bench && go run ./overload -d 3s      # shorter runs
//	cd bench && go run ./overload -loads 3   # only 3×
//
// The handler costs about 2 ms of CPU (-cost 20000 sha256 rounds). The
// cost of a rejection bounds what the limiter can save: at m× every served
// request comes with m−1 rejected ones, each a full HTTP round trip through
// the server's read, routing and 429 reply, so goodput is at most
// 1 − (m−1)·reject/serve of the capacity. OVERLOAD_DEBUG measured a
// rejection at about 55 µs of server CPU against about 970 µs for a
// request of -cost 10000: a bound of 89% at 3×, 95% with the default.
//
// The handler yields (runtime.Gosched) every 250 rounds, -yield, as a
// handler that logs, reads a cache or calls a database does. With -yield 0
// the limiter can barely help: on GOMAXPROCS=1 a handler that never blocks
// runs to its end before the next request is even read (unless it outlasts
// Go's 10 ms preemption slice, or the OS takes the core away mid-request), so the limiter sees at most one request in flight while the
// queue builds in the Go scheduler and the kernel's socket buffers, where
// no in-process concurrency limit can see it.
//
// The machine's load average before and after is printed with the table.
// On a machine shared with other work the server's share of its core moves
// from one step to the next, so each step also reports the CPU the server
// got (from its own rusage, GET /cpu) and goodput against the replies that
// CPU serves at the cost per reply measured with the capacity.
//
// It needs Linux, taskset (util-linux) and two cores; it sends traffic only
// to 127.0.0.1. OVERLOAD_DEBUG=1 makes each server print, every 500 ms to
// stderr, the requests served (and, limited, rejected) and its CPU seconds,
// and a limited one its CPU reading, in-flight count and limit: enough to
// work out the CPU cost of a rejection.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/ratelimit"
	"github.com/zelos-go/zelos/resilience/bbr"
	"github.com/zelos-go/zelos/transport/http"
)

func main() {
	role := flag.String("role", "", "internal: server or drive")
	addr := flag.String("addr", "127.0.0.1:0", "internal: server address")
	limit := flag.Bool("limit", false, "internal: server uses the adaptive limiter")
	cost := flag.Int("cost", 20000, "sha256 rounds per request (about 0.1 µs each; see the package doc)")
	yield := flag.Int("yield", 250, "runtime.Gosched every this many rounds (0: never; see the package doc)")
	d := flag.Duration("d", 6*time.Second, "duration of each load step")
	slo := flag.Duration("slo", time.Second, "latency objective of a good reply")
	loads := flag.String("loads", "1,2,3", "offered loads, in multiples of the capacity")
	flag.Parse()
	switch *role {
	case "server":
		serve(*addr, *limit, work{*cost, *yield})
	case "drive":
		drive(work{*cost, *yield}, *d, *slo, multiples(*loads))
	default:
		// Re-run pinned to CPU 1; the driver pins each server to CPU 0.
		self, err := os.Executable()
		must(err)
		args := append([]string{"-c", "1", self, "-role", "drive"}, os.Args[1:]...)
		cmd := exec.Command("taskset", args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		must(cmd.Run())
	}
}

// work is the handler's CPU burn: cost sha256 rounds, with a
// runtime.Gosched every yield rounds when yield > 0.
type work struct{ cost, yield int }

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

func serve(addr string, limit bool, w work) {
	lis, err := net.Listen("tcp", addr)
	must(err)
	var mws []middleware.Middleware
	var served, rejected atomic.Int64
	debug := os.Getenv("OVERLOAD_DEBUG") != ""
	if limit {
		cpu, err := bbr.NewProcessCPU()
		must(err)
		l := bbr.New(bbr.WithCPU(cpu))
		if debug {
			go func() {
				for range time.Tick(500 * time.Millisecond) {
					fmt.Fprintf(os.Stderr, "cpu %.2f inflight %d max %d served %d rejected %d cpu-s %.2f\n",
						cpu.Usage(), l.InFlight(), l.MaxInFlight(), served.Load(), rejected.Load(), cpuSeconds())
				}
			}()
		}
		mws = append(mws, ratelimit.Server(ratelimit.WithLimiter(bbrLimiter{l, &rejected})))
	} else if debug {
		go func() {
			for range time.Tick(500 * time.Millisecond) {
				fmt.Fprintf(os.Stderr, "served %d cpu-s %.2f\n", served.Load(), cpuSeconds())
			}
		}()
	}
	srv := http.NewServer(http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard)), http.Middleware(mws...))
	srv.Route("/").GET("/cpu", func(ctx http.Context) error {
		return ctx.String(200, strconv.FormatFloat(cpuSeconds(), 'f', -1, 64))
	})
	srv.Route("/").GET("/work", func(ctx http.Context) error {
		served.Add(1)
		sum := sha256.Sum256([]byte("zelos"))
		for i := range w.cost {
			sum = sha256.Sum256(sum[:])
			if w.yield > 0 && i%w.yield == w.yield-1 {
				runtime.Gosched()
			}
		}
		return ctx.String(200, strconv.Itoa(int(sum[0])))
	})
	fmt.Println(lis.Addr().String()) // the driver reads the address
	must(srv.Start(context.Background()))
}

// bbrLimiter is ratelimit.NewBBR's adapter, over a limiter the harness
// can also read for -debug.
type bbrLimiter struct {
	l        *bbr.Limiter
	rejected *atomic.Int64
}

func (b bbrLimiter) Allow(context.Context) (ratelimit.DoneFunc, error) {
	t, err := b.l.Allow()
	if err != nil {
		b.rejected.Add(1)
		return nil, ratelimit.ErrLimitExceeded
	}
	return func() { b.l.Done(t) }, nil
}

// cpuSeconds returns the CPU time the process used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// startServer runs a server process on CPU 0 and returns its base URL.
func startServer(limit bool, w work) (string, func()) {
	self, err := os.Executable()
	must(err)
	cmd := exec.Command("taskset", "-c", "0", self, "-role", "server", "-limit="+strconv.FormatBool(limit), "-cost", strconv.Itoa(w.cost), "-yield", strconv.Itoa(w.yield))
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	must(err)
	cmd.Stderr = os.Stderr
	must(cmd.Start())
	buf := make([]byte, 64)
	n, err := out.Read(buf)
	must(err)
	addr := string(buf[:n-1])
	return "http://" + addr + "/work", func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

func client() *nethttp.Client {
	return &nethttp.Client{Transport: &nethttp.Transport{MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0}}
}

// capacity runs a closed loop of 4 callers for d and returns replies/s.
func capacity(url string, d time.Duration) float64 {
	c := client()
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				res, err := c.Get(url)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

type result struct {
	good, rejected, failed int
	p99                    time.Duration
}

// offer sends rate requests per second for d, each bounded by 2×slo, and
// counts the replies.
func offer(url string, rate float64, d, slo time.Duration) result {
	c := client()
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	var r result
	var admitted []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if next.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(next))
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*slo)
			defer cancel()
			req, _ := nethttp.NewRequestWithContext(ctx, "GET", url, nil)
			t0 := time.Now()
			res, err := c.Do(req)
			var status int
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				status = res.StatusCode
			}
			lat := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case status == 200:
				admitted = append(admitted, lat)
				if lat <= slo {
					r.good++
				}
			case status == 429:
				r.rejected++
			default:
				r.failed++
			}
		})
	}
	wg.Wait()
	if len(admitted) > 0 {
		slices.Sort(admitted)
		r.p99 = admitted[len(admitted)*99/100]
	}
	return r
}

func drive(w work, d, slo time.Duration, loads []float64) {
	fmt.Printf("load average before: %s\n", loadavg())
	defer func() { fmt.Printf("\nload average after: %s\n", loadavg()) }()
	url, stop := startServer(false, w)
	time.Sleep(200 * time.Millisecond)
	capacity(url, time.Second) // warm up
	cpu0 := cpuOf(url)
	c := capacity(url, d)
	perReply := (cpuOf(url) - cpu0) / (c * d.Seconds())
	stop()
	fmt.Printf("capacity: %.0f replies/s, %.0f µs of server CPU each (server on 1 core, %d sha256 rounds per request, yield every %d)\n\n",
		c, perReply*1e6, w.cost, w.yield)
	fmt.Println("| load | limiter | offered/s | goodput/s | goodput/capacity | server CPU (cores) | goodput/what that CPU serves | rejected/s | failed/s | p99 admitted |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, mult := range loads {
		for _, limit := range []bool{false, true} {
			url, stop := startServer(limit, w)
			time.Sleep(200 * time.Millisecond)
			capacity(url, time.Second) // warm the limiter's estimate as well as the caches
			// On a machine shared with other work the server gets a share of
			// its core that moves from one step to the next, so goodput is
			// also judged against the replies the CPU it did get serves at
			// the calibration's cost per reply.
			cpu0, t0 := cpuOf(url), time.Now()
			r := offer(url, mult*c, d, slo)
			used := cpuOf(url) - cpu0
			cores := used / time.Since(t0).Seconds()
			stop()
			name := "none"
			if limit {
				name = "bbr"
			}
			s := d.Seconds()
			good := float64(r.good) / s
			fmt.Printf("| %.0f× | %s | %.0f | %.0f | %.0f%% | %.2f | %.0f%% | %.0f | %.0f | %v |\n", mult, name, mult*c,
				good, 100*good/c, cores, 100*float64(r.good)*perReply/used, float64(r.rejected)/s, float64(r.failed)/s, r.p99.Round(time.Millisecond))
		}
	}
}

// cpuOf returns the CPU seconds the server of url has used, asking again
// while its limiter rejects the question.
func cpuOf(url string) float64 {
	u := strings.TrimSuffix(url, "/work") + "/cpu"
	for range 1000 {
		res, err := nethttp.Get(u)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				v, err := strconv.ParseFloat(string(b), 64)
				must(err)
				return v
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(fmt.Errorf("%s: no answer", u))
	return 0
}

// multiples parses the -loads list.
func multiples(list string) []float64 {
	var out []float64
	for f := range strings.SplitSeq(list, ",") {
		m, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || m <= 0 {
			must(fmt.Errorf("-loads: bad multiple %q", f))
		}
		out = append(out, m)
	}
	return out
}

// loadavg returns the 1, 5 and 15 minute load averages of /proc/loadavg, so
// the table says how busy the machine was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
