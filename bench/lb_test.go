package bench

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/p2c"
	"github.com/zelos-go/zelos/selector/random"
	"github.com/zelos-go/zelos/selector/roundrobin"
	"github.com/zelos-go/zelos/transport/grpc"
)

// delayedService answers UnaryCall after a fixed delay, counting calls.
type delayedService struct {
	testpb.UnimplementedTestServiceServer
	delay time.Duration
	calls *atomic.Int64
}

func (s *delayedService) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.calls.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	return &testpb.SimpleResponse{}, nil
}

// startBackends starts one gRPC server per delay, registered in r as
// "lb.bench", and returns a function that stops them. Each server counts its
// calls in calls[i] and serves the health service, as Zelos servers do (the
// client checks health by default).
func startBackends(b *testing.B, r *registry.InMemory, delays []time.Duration, calls []atomic.Int64) func() {
	b.Helper()
	var servers []*ggrpc.Server
	var wg sync.WaitGroup
	for i, d := range delays {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		s := ggrpc.NewServer()
		testpb.RegisterTestServiceServer(s, &delayedService{delay: d, calls: &calls[i]})
		healthpb.RegisterHealthServer(s, health.NewServer())
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Serve(ln) }()
		servers = append(servers, s)
		ins := &registry.ServiceInstance{
			ID: fmt.Sprintf("backend-%d", i), Name: "lb.bench",
			Endpoints: []string{"grpc://" + ln.Addr().String()},
		}
		if err := r.Register(context.Background(), ins); err != nil {
			b.Fatal(err)
		}
	}
	return func() {
		for _, s := range servers {
			s.Stop()
		}
		wg.Wait()
	}
}

// BenchmarkBalancerLatency measures client latency, with 32 concurrent
// callers, over 3 backends where one adds 20ms ("slow") or none does
// ("healthy"), for each balancer. It reports the median and the 99th
// percentile in ms, and the share of calls the last backend served (the slow
// one, or one in three when all are healthy); ns/op is not the interesting
// figure here.
//
//	go test -run '^$' -bench BalancerLatency -benchtime 3000x
func BenchmarkBalancerLatency(b *testing.B) {
	for _, shape := range []struct {
		name   string
		delays []time.Duration
	}{
		{"healthy", []time.Duration{0, 0, 0}},
		{"slow", []time.Duration{0, 0, 20 * time.Millisecond}},
	} {
		for _, bal := range []string{p2c.Name, roundrobin.Name, random.Name} {
			b.Run(shape.name+"/"+bal, func(b *testing.B) {
				r := registry.NewInMemory()
				calls := make([]atomic.Int64, len(shape.delays))
				stop := startBackends(b, r, shape.delays, calls)
				defer stop()
				sl := selector.NewSelector(selector.Registry(r), selector.Balancer(bal))
				defer sl.Close()
				conn, err := grpc.DialInsecure(context.Background(),
					grpc.WithEndpoint("discovery:///lb.bench"),
					grpc.WithDiscovery(r),
					grpc.WithSelector(sl),
				)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				client := testpb.NewTestServiceClient(conn)
				// Warm up: connect to every backend and seed p2c's stats.
				for i := 0; i < 60; i++ {
					if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
						b.Fatal(err)
					}
				}

				for i := range calls {
					calls[i].Store(0)
				}
				const callers = 32
				lat := make([][]time.Duration, callers)
				var next sync.Mutex
				remaining := b.N
				b.ResetTimer()
				var wg sync.WaitGroup
				for c := 0; c < callers; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							next.Lock()
							if remaining == 0 {
								next.Unlock()
								return
							}
							remaining--
							next.Unlock()
							start := time.Now()
							if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
								b.Error(err)
								return
							}
							lat[c] = append(lat[c], time.Since(start))
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				all := slices.Concat(lat...)
				slices.Sort(all)
				if len(all) == 0 {
					return
				}
				pct := func(p float64) float64 {
					return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
				}
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
				// The share of the calls the last backend (the slow one, in
				// the "slow" shape) served.
				b.ReportMetric(100*float64(calls[len(calls)-1].Load())/float64(len(all)), "last-%")
			})
		}
	}
}
