// Command gatewayload measures what the gateway adds to a call: p50 and
// p99 latency and throughput at a fixed concurrency, for the same GET sent
// directly to a backend, through a plain httputil.ReverseProxy and through
// the gateway, and for SayHello called directly over gRPC and transcoded
// from JSON by the gateway.
//
//	cd bench && go run ./gatewayload                # about 1.5 minutes
//	cd bench && go run ./gatewayload -c 1,16 -d 3s  # latency alone, then under load
//	cd bench && go run ./gatewayload -c 16 -cpuprofile /tmp/gw  # and each proxy's CPU profile
//
// Every proxy runs in a child process pinned to CPU 0 (taskset,
// GOMAXPROCS=1), and the load generator and both backends in this process,
// pinned to CPU 1, as bench/overload does. The proxy's throughput is then
// what one core gives it, and "req per proxy CPU-s" divides the requests
// it served by the CPU time it used (its utime+stime from /proc): on a
// machine shared with other work, whose processes take part of CPU 0 from
// the proxy, that is the figure to compare proxies on, and the ratio
// gateway/httputil is printed for both. The scenarios take turns, -slice
// (500 ms) each, until each has run -d, so that the other work on the
// machine, which comes and goes, weighs on all of them alike.
//
// The backends cost as little as a server can: a net/http handler writing
// 25 bytes of JSON, and a Zelos gRPC server with no middleware serving the
// helloworld Greeter (the gateway reads its google.api.http rules from the
// backend's reflection service). The routes, configuration and servers are
// those of BenchmarkGatewayProxy and BenchmarkGatewayTranscode
// (bench/gatewayload/rig). The gateway has no policies; "gateway" logs
// every request (the default) to log.NewStdLogger(io.Discard),
// "gateway-nolog" has access_log: false.
//
// It needs Linux, taskset (util-linux) and two cores, and sends traffic
// only to 127.0.0.1.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zelos-go/zelos/bench/gatewayload/rig"
	"github.com/zelos-go/zelos/log"
)

func main() {
	role := flag.String("role", "", "internal: drive, or the proxy to serve (httputil, gateway, gateway-nolog)")
	httpAddr := flag.String("http", "", "internal: the HTTP backend's host:port")
	grpcAddr := flag.String("grpc", "", "internal: the gRPC backend's host:port")
	conc := flag.String("c", "16", "concurrent callers, a comma-separated list run in turn")
	d := flag.Duration("d", 5*time.Second, "measured duration of each scenario (after a 1 s warm-up), in slices of -slice")
	only := flag.String("only", "", "a regular expression: run only the scenarios whose names it matches")
	profile := flag.String("cpuprofile", "", "a directory: each proxy writes its CPU profile there, as KIND.pprof")
	slice := flag.Duration("slice", 500*time.Millisecond, "the scenarios take turns, one slice each, until each has run -d")
	flag.Parse()
	switch *role {
	case "":
		// Re-run pinned to CPU 1; the driver pins each proxy to CPU 0.
		self, err := os.Executable()
		must(err)
		args := append([]string{"-c", "1", self, "-role", "drive"}, os.Args[1:]...)
		cmd := exec.Command("taskset", args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		must(cmd.Run())
	case "drive":
		drive(counts(*conc), *d, *slice, *profile, regexp.MustCompile(*only))
	default:
		serveProxy(*role, *httpAddr, *grpcAddr, *profile)
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewayload:", err)
		os.Exit(1)
	}
}

// serveProxy runs one proxy, prints its host:port for the driver, and
// serves until killed, or, when it writes a CPU profile to the file
// profile, until interrupted.
func serveProxy(kind, httpAddr, grpcAddr, profile string) {
	var addr string
	var err error
	switch kind {
	case "httputil":
		addr, _, err = rig.StartReverseProxy(httpAddr)
	case "gateway", "gateway-nolog":
		addr, _, err = rig.StartGateway(rig.GatewayConfig(httpAddr, grpcAddr, kind == "gateway"), log.NewStdLogger(io.Discard))
	default:
		err = fmt.Errorf("unknown proxy %q", kind)
	}
	must(err)
	if profile != "" {
		f, err := os.Create(profile)
		must(err)
		must(pprof.StartCPUProfile(f))
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		fmt.Println(addr)
		<-sig
		pprof.StopCPUProfile()
		must(f.Close())
		os.Exit(0)
	}
	fmt.Println(addr)
	select {}
}

// proxy is a proxy child process on CPU 0.
type proxy struct {
	addr string
	cmd  *exec.Cmd
}

func startProxy(kind, httpAddr, grpcAddr, profileDir string) *proxy {
	self, err := os.Executable()
	must(err)
	args := []string{"-c", "0", self, "-role", kind, "-http", httpAddr, "-grpc", grpcAddr}
	if profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(profileDir, kind+".pprof"))
	}
	cmd := exec.Command("taskset", args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	must(err)
	cmd.Stderr = os.Stderr
	must(cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	must(err)
	return &proxy{addr: strings.TrimSpace(line), cmd: cmd}
}

// stop interrupts the proxy, which then writes its profile if it keeps
// one, and kills it if it has not exited within 5 s.
func (p *proxy) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	t := time.AfterFunc(5*time.Second, func() { _ = p.cmd.Process.Kill() })
	defer t.Stop()
	_ = p.cmd.Wait()
}

// cpu returns the CPU seconds the proxy has used. taskset execs the
// proxy, so the child's pid is the proxy's. /proc counts clock ticks of
// USER_HZ, 100 on Linux's usual builds.
func (p *proxy) cpu() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	must(err)
	// The command name, field 2, is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err := strconv.ParseFloat(f[11], 64) // field 14
	must(err)
	stime, err := strconv.ParseFloat(f[12], 64) // field 15
	must(err)
	return (utime + stime) / 100
}

// scenario is one way of making the call.
type scenario struct {
	name  string
	proxy string // the proxy child to start, "" for a direct call
	base  string // the direct scenario its added latency is measured against
	call  func(ctx context.Context, addr string) func() error
}

// result is what one scenario measured.
type result struct {
	n, failed int
	elapsed   time.Duration
	p50, p99  time.Duration
	cores     float64 // the proxy's CPU over elapsed; 0 for direct calls
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// perCPU is the requests the proxy served per CPU second it used.
func (r result) perCPU() float64 {
	if r.cores == 0 {
		return 0
	}
	return r.rate() / r.cores
}

func drive(concurrency []int, d, slice time.Duration, profileDir string, only *regexp.Regexp) {
	fmt.Printf("load average before: %s\n", loadavg())
	defer func() { fmt.Printf("\nload average after: %s\n", loadavg()) }()
	httpAddr, stopHTTP, err := rig.StartHTTPBackend()
	must(err)
	defer stopHTTP()
	grpcAddr, stopGRPC, err := rig.StartGRPCBackend()
	must(err)
	defer stopGRPC()
	proxies := map[string]*proxy{}
	for _, kind := range []string{"httputil", "gateway", "gateway-nolog"} {
		p := startProxy(kind, httpAddr, grpcAddr, profileDir)
		defer p.stop()
		proxies[kind] = p
	}

	get := func(path string) func(context.Context, string) func() error {
		return func(_ context.Context, addr string) func() error {
			c := rig.Client(1) // one connection per caller
			url := "http://" + addr + path
			return func() error { return rig.Get(c, url) }
		}
	}
	greeter, closeGreeter, err := rig.DialGreeter(grpcAddr)
	must(err)
	defer closeGreeter()
	scenarios := []scenario{
		{name: "direct HTTP", call: get(rig.HTTPPath)},
		{name: "httputil.ReverseProxy", proxy: "httputil", base: "direct HTTP", call: get(rig.HTTPPath)},
		{name: "gateway (HTTP proxy)", proxy: "gateway", base: "direct HTTP", call: get(rig.HTTPPath)},
		{name: "gateway-nolog (HTTP proxy)", proxy: "gateway-nolog", base: "direct HTTP", call: get(rig.HTTPPath)},
		{name: "direct gRPC", call: func(ctx context.Context, _ string) func() error {
			// One shared grpc-go connection: HTTP/2 multiplexes the callers,
			// as a real client's one ClientConn would.
			return func() error { return rig.SayHello(ctx, greeter) }
		}},
		{name: "gateway (transcode)", proxy: "gateway", base: "direct gRPC", call: get(rig.TranscodePath)},
		{name: "gateway-nolog (transcode)", proxy: "gateway-nolog", base: "direct gRPC", call: get(rig.TranscodePath)},
	}
	scenarios = slices.DeleteFunc(scenarios, func(s scenario) bool { return !only.MatchString(s.name) })
	for _, c := range concurrency {
		fmt.Printf("\n%d concurrent callers, %v each in turns of %v (after 1 s of warm-up); proxies on CPU 0 with GOMAXPROCS=1, callers and backends on CPU 1\n\n", c, d, slice)
		results := measure(scenarios, proxies, c, d, slice, httpAddr)
		fmt.Println("| scenario | req/s | p50 | p99 | added p50 | added p99 | proxy CPU (cores) | req per proxy CPU-s | failed |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		for _, s := range scenarios {
			r := results[s.name]
			added50, added99 := "", ""
			if b, ok := results[s.base]; ok {
				added50, added99 = fmtAdded(r.p50-b.p50), fmtAdded(r.p99-b.p99)
			}
			cores, per := "", ""
			if r.cores > 0 {
				cores, per = fmt.Sprintf("%.2f", r.cores), fmt.Sprintf("%.0f", r.perCPU())
			}
			fmt.Printf("| %s | %.0f | %s | %s | %s | %s | %s | %s | %d |\n", s.name, r.rate(), fmtDur(r.p50), fmtDur(r.p99), added50, added99, cores, per, r.failed)
		}
		summary(results)
	}
}

// measure runs every scenario with c callers in a closed loop: 1 s of
// warm-up each, then slices of the given length in turn until each has
// run for d. Taking turns spreads the other work on a shared machine,
// which comes and goes, over every scenario alike, where running each
// for d in a row would give one a quiet machine and the next a busy one.
func measure(scenarios []scenario, proxies map[string]*proxy, c int, d, slice time.Duration, httpAddr string) map[string]result {
	type run struct {
		calls []func() error
		p     *proxy
		lats  []time.Duration
		cpu   float64
		r     result
	}
	ctx := context.Background()
	runs := make([]*run, len(scenarios))
	for i, s := range scenarios {
		addr := httpAddr
		rn := &run{p: proxies[s.proxy]}
		if rn.p != nil {
			addr = rn.p.addr
		}
		rn.calls = make([]func() error, c)
		for j := range rn.calls {
			rn.calls[j] = s.call(ctx, addr)
		}
		loop(rn.calls, time.Second, nil)
		runs[i] = rn
	}
	for range max(1, int(d/slice)) {
		for _, rn := range runs {
			var cpu0 float64
			if rn.p != nil {
				cpu0 = rn.p.cpu()
			}
			lats := make([][]time.Duration, c)
			t0 := time.Now()
			rn.r.failed += loop(rn.calls, slice, lats)
			rn.r.elapsed += time.Since(t0)
			if rn.p != nil {
				rn.cpu += rn.p.cpu() - cpu0
			}
			rn.lats = slices.Concat(append(lats, rn.lats)...)
		}
	}
	out := map[string]result{}
	for i, rn := range runs {
		r := rn.r
		if rn.p != nil {
			r.cores = rn.cpu / r.elapsed.Seconds()
		}
		slices.Sort(rn.lats)
		r.n = len(rn.lats)
		if r.n > 0 {
			r.p50, r.p99 = rn.lats[r.n/2], rn.lats[r.n*99/100]
		}
		out[scenarios[i].name] = r
	}
	return out
}

// summary prints the ratios and the targets, met or not.
func summary(r map[string]result) {
	fmt.Println()
	rp, haveRP := r["httputil.ReverseProxy"]
	for _, name := range []string{"gateway (HTTP proxy)", "gateway-nolog (HTTP proxy)"} {
		if g, ok := r[name]; ok && haveRP {
			fmt.Printf("%s / httputil.ReverseProxy: throughput %.2f×, per proxy CPU-s %.2f× (target ≥ 0.9×: %s)\n",
				name, g.rate()/rp.rate(), g.perCPU()/rp.perCPU(), verdict(g.perCPU()/rp.perCPU() >= 0.9))
		}
	}
	for _, v := range []struct{ via, base string }{
		{"gateway (HTTP proxy)", "direct HTTP"},
		{"gateway (transcode)", "direct gRPC"},
	} {
		via, ok1 := r[v.via]
		base, ok2 := r[v.base]
		if ok1 && ok2 {
			add := via.p99 - base.p99
			fmt.Printf("%s over %s: p99 %s (target < 1ms: %s)\n", v.via, v.base, fmtAdded(add), verdict(add < time.Millisecond))
		}
	}
	// On a shared machine a plain ReverseProxy's own p99 overhead can be
	// over 1 ms: what the gateway adds beyond it separates the gateway
	// from the hop.
	g, ok := r["gateway (HTTP proxy)"]
	direct, okDirect := r["direct HTTP"]
	if ok && haveRP && okDirect {
		fmt.Printf("gateway (HTTP proxy) over httputil.ReverseProxy: p50 %s, p99 %s (httputil's own over direct HTTP: p99 %s)\n",
			fmtAdded(g.p50-rp.p50), fmtAdded(g.p99-rp.p99), fmtAdded(rp.p99-direct.p99))
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// loop runs each call in its own goroutine, over and over, for d. When
// lats is not nil each goroutine appends the latency of its successful
// calls to its own slice. It returns the number of failed calls.
func loop(calls []func() error, d time.Duration, lats [][]time.Duration) int {
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	failed := 0
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for {
				t0 := time.Now()
				if t0.After(deadline) {
					break
				}
				if err := call(); err != nil {
					bad++
					continue
				}
				if lats != nil {
					mine = append(mine, time.Since(t0))
				}
			}
			if lats != nil {
				lats[i] = mine
			}
			mu.Lock()
			failed += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	return failed
}

// fmtDur prints a latency in µs below 10 ms, so that added latencies of a
// few tens of µs stay readable.
func fmtDur(d time.Duration) string {
	if d > -10*time.Millisecond && d < 10*time.Millisecond {
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
	return d.Round(100 * time.Microsecond).String()
}

// fmtAdded prints an added latency with its sign.
func fmtAdded(d time.Duration) string {
	if d >= 0 {
		return "+" + fmtDur(d)
	}
	return fmtDur(d)
}

// counts parses the -c list.
func counts(list string) []int {
	var out []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			must(fmt.Errorf("-c: bad concurrency %q", f))
		}
		out = append(out, n)
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
