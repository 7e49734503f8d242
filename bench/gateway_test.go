package bench

import (
	"context"
	"io"
	nethttp "net/http"
	"syscall"
	"testing"
	"time"

	"github.com/zelos-go/zelos/bench/gatewayload/rig"
	"github.com/zelos-go/zelos/log"
)

// BenchmarkGatewayProxy measures one proxied GET, serially, over real
// loopback TCP with a keep-alive client, client, proxy and backend all in
// this process (so allocs/op are those of all three; the direct case is
// the client and backend alone, and a proxy's own allocations are its
// figure minus direct's):
//   - direct: the client to the backend (a plain net/http handler);
//   - httputil: through a plain httputil.ReverseProxy, the baseline;
//   - httputil-flush: the same with FlushInterval -1, as the gateway's
//     was until it dropped it (bench/README.md says what it cost);
//   - gateway: through the gateway, prefix /hello, no policies, access log
//     on (the default) to log.NewStdLogger(io.Discard);
//   - gateway-nolog: the same with access_log: false;
//   - ServeHTTP-*: the same three proxies' handlers called directly, with
//     no client or server in front (only the proxy's round trip to the
//     backend is over TCP).
//
// The gateway's ratio to httputil is its figure over httputil's, median
// against median (benchstat); cpu-ns/op (see reportCPU) is the figure to
// compare when the machine is busy.
func BenchmarkGatewayProxy(b *testing.B) {
	backend, grpcAddr := startGatewayBackends(b)
	b.Run("direct", func(b *testing.B) { runGet(b, backend+rig.HTTPPath) })
	b.Run("httputil", func(b *testing.B) {
		addr, stop, err := rig.StartReverseProxy(backend)
		if err != nil {
			b.Fatal(err)
		}
		defer stop()
		runGet(b, addr+rig.HTTPPath)
	})
	b.Run("httputil-flush", func(b *testing.B) {
		// Flushing every write (FlushInterval -1) was the gateway's
		// largest cost: kept on the baseline so that it stays measured.
		rp := rig.NewReverseProxy(backend)
		rp.FlushInterval = -1
		addr, stop, err := rig.Serve(rp)
		if err != nil {
			b.Fatal(err)
		}
		defer stop()
		runGet(b, addr+rig.HTTPPath)
	})
	eachGateway(b, backend, grpcAddr, rig.HTTPPath)
	// The handlers alone, called with ServeHTTP: no client and no
	// server in front of the proxy, only its round trip to the backend, so
	// that what the gateway adds to a ReverseProxy stands out.
	b.Run("ServeHTTP-httputil", func(b *testing.B) { runServeHTTP(b, rig.NewReverseProxy(backend)) })
	for _, v := range gatewayVariants {
		b.Run("ServeHTTP-"+v.name, func(b *testing.B) {
			g, err := rig.NewGateway(rig.GatewayConfig(backend, grpcAddr, v.accessLog), log.NewStdLogger(io.Discard))
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			runServeHTTP(b, g)
		})
	}
}

// BenchmarkGatewayTranscode measures SayHello of the helloworld Greeter,
// served by a Zelos gRPC server with no middleware, serially over loopback:
//   - grpc-direct: a grpc-go unary call;
//   - gateway: JSON GET /helloworld/zelos through the gateway's transcode
//     endpoint (descriptors from the backend's reflection service), access
//     log on to log.NewStdLogger(io.Discard);
//   - gateway-nolog: the same with access_log: false.
func BenchmarkGatewayTranscode(b *testing.B) {
	backend, grpcAddr := startGatewayBackends(b)
	b.Run("grpc-direct", func(b *testing.B) {
		c, closeConn, err := rig.DialGreeter(grpcAddr)
		if err != nil {
			b.Fatal(err)
		}
		defer closeConn()
		ctx := context.Background()
		if err := rig.SayHello(ctx, c); err != nil { // connect before timing
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu0 := processCPU()
		for b.Loop() {
			if err := rig.SayHello(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu0)
	})
	eachGateway(b, backend, grpcAddr, rig.TranscodePath)
}

// gatewayVariants are the gateway's configurations every benchmark runs:
// with the access log (the default) and without.
var gatewayVariants = []struct {
	name      string
	accessLog bool
}{{"gateway", true}, {"gateway-nolog", false}}

// startGatewayBackends starts the HTTP and gRPC backends for the whole benchmark.
func startGatewayBackends(b *testing.B) (httpAddr, grpcAddr string) {
	httpAddr, stop, err := rig.StartHTTPBackend()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	grpcAddr, stopGRPC, err := rig.StartGRPCBackend()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stopGRPC)
	return httpAddr, grpcAddr
}

// eachGateway runs runGet of path through a gateway of each variant.
func eachGateway(b *testing.B, backend, grpcAddr, path string) {
	for _, v := range gatewayVariants {
		b.Run(v.name, func(b *testing.B) {
			addr, stop, err := rig.StartGateway(rig.GatewayConfig(backend, grpcAddr, v.accessLog), log.NewStdLogger(io.Discard))
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			runGet(b, addr+path)
		})
	}
}

// runServeHTTP times h.ServeHTTP of GET /hello/zelos into a reused
// writer that discards the body.
func runServeHTTP(b *testing.B, h nethttp.Handler) {
	w := &discardWriter{h: nethttp.Header{}}
	serve := func() {
		clear(w.h)
		w.code = 0
		r, err := nethttp.NewRequest(nethttp.MethodGet, "http://gateway"+rig.HTTPPath, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.RemoteAddr = "127.0.0.1:40000"
		h.ServeHTTP(w, r)
		if w.code != nethttp.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
	serve() // dials the backend
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		serve()
	}
	reportCPU(b, cpu0)
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, reused across requests so that it allocates nothing itself.
type discardWriter struct {
	h    nethttp.Header
	code int
}

func (w *discardWriter) Header() nethttp.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(nethttp.StatusOK)
	return len(p), nil
}
func (w *discardWriter) Flush() {}

// runGet times GETs of http://hostPath on one keep-alive connection, after
// one untimed GET that dials (and, for transcoding, loads the
// descriptors).
func runGet(b *testing.B, hostPath string) {
	c := rig.Client(1)
	defer c.CloseIdleConnections()
	url := "http://" + hostPath
	if err := rig.Get(c, url); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if err := rig.Get(c, url); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since cpu0, of client, proxy and
// backend together, as cpu-ns/op. On a machine shared with other work
// ns/op counts the time spent waiting for a core as well; CPU time counts
// only the work, so the proxies compare on it even when ns/op is noise.
// (The GC's background work is in it too, as it is the allocations' cost.)
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
