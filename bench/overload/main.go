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
//	cd bench && go run ./overload            # full table, about 2 minutes
//	cd bench && go run ./overload -d 3s      # shorter runs
//
// It needs Linux, taskset (util-linux) and two cores; it sends traffic only
// to 127.0.0.1.
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
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	cost := flag.Int("cost", 2000, "sha256 rounds per request (about 1 µs each)")
	d := flag.Duration("d", 6*time.Second, "duration of each load step")
	slo := flag.Duration("slo", time.Second, "latency objective of a good reply")
	flag.Parse()
	switch *role {
	case "server":
		serve(*addr, *limit, *cost)
	case "drive":
		drive(*cost, *d, *slo)
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

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

func serve(addr string, limit bool, cost int) {
	lis, err := net.Listen("tcp", addr)
	must(err)
	var mws []middleware.Middleware
	if limit {
		cpu, err := bbr.NewProcessCPU()
		must(err)
		mws = append(mws, ratelimit.Server(ratelimit.WithLimiter(ratelimit.NewBBR(bbr.WithCPU(cpu)))))
	}
	srv := http.NewServer(http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard)), http.Middleware(mws...))
	srv.Route("/").GET("/work", func(ctx http.Context) error {
		sum := sha256.Sum256([]byte("zelos"))
		for range cost {
			sum = sha256.Sum256(sum[:])
		}
		return ctx.String(200, strconv.Itoa(int(sum[0])))
	})
	fmt.Println(lis.Addr().String()) // the driver reads the address
	must(srv.Start(context.Background()))
}

// startServer runs a server process on CPU 0 and returns its base URL.
func startServer(limit bool, cost int) (string, func()) {
	self, err := os.Executable()
	must(err)
	cmd := exec.Command("taskset", "-c", "0", self, "-role", "server", "-limit="+strconv.FormatBool(limit), "-cost", strconv.Itoa(cost))
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

func drive(cost int, d, slo time.Duration) {
	url, stop := startServer(false, cost)
	time.Sleep(200 * time.Millisecond)
	capacity(url, time.Second) // warm up
	c := capacity(url, d)
	stop()
	fmt.Printf("capacity: %.0f replies/s (server on 1 core, %d sha256 rounds per request)\n\n", c, cost)
	fmt.Println("| load | limiter | offered/s | goodput/s | goodput/capacity | rejected/s | failed/s | p99 admitted |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, mult := range []float64{1, 2, 3} {
		for _, limit := range []bool{false, true} {
			url, stop := startServer(limit, cost)
			time.Sleep(200 * time.Millisecond)
			capacity(url, time.Second) // warm the limiter's estimate as well as the caches
			r := offer(url, mult*c, d, slo)
			stop()
			name := "none"
			if limit {
				name = "bbr"
			}
			s := d.Seconds()
			fmt.Printf("| %.0f× | %s | %.0f | %.0f | %.0f%% | %.0f | %.0f | %v |\n", mult, name, mult*c,
				float64(r.good)/s, 100*float64(r.good)/s/c, float64(r.rejected)/s, float64(r.failed)/s, r.p99.Round(time.Millisecond))
		}
	}
}
