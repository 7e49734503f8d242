package selector_test

import (
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

// TestOutlierErrorRateLoopback is the measurement: 5 HTTP servers on
// loopback, one answering every request with 503, called through the real
// HTTP client and selector. After a warm-up the client's error rate must
// stay under 1%.
//
// The issue measures after the first 5 s with the defaults, where the
// failing instance, ejected after its first 5 failures, stays out for 30 s.
// To keep the test short and harsher than that, it warms up for 1 s only and
// uses a 500 ms base ejection time, so the failing instance comes back
// (and costs 5 more failures each time) during the 2 s measured: ejected
// at about 0 s for 0.5 s, at 0.5 s for 1 s, at 1.5 s for 1.5 s, at 3 s.
//
//	go test -run TestOutlierErrorRateLoopback -v ./selector/
func TestOutlierErrorRateLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s per balancer")
	}
	reg := registry.NewInMemory()
	ctx := context.Background()
	for i := range 5 {
		code := nethttp.StatusOK
		if i == 0 {
			code = nethttp.StatusServiceUnavailable
		}
		srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, `{}`)
		}))
		t.Cleanup(srv.Close)
		in := &registry.ServiceInstance{ID: fmt.Sprint(i), Name: "outlier", Endpoints: []string{srv.URL}}
		if err := reg.Register(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range balancerNames {
		t.Run(name, func(t *testing.T) {
			sel := selector.NewSelector(selector.Balancer(name), selector.EjectionTime(500*time.Millisecond))
			defer sel.Close()
			bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c, err := http.NewClient(bctx, http.WithEndpoint("discovery:///outlier"), http.WithDiscovery(reg),
				http.WithSelector(sel), http.WithBlock(), http.WithLogger(log.NewStdLogger(io.Discard)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			measureOutlier(t, name, func() error { return c.Invoke(ctx, "GET", "/", nil, &struct{}{}) })
		})
	}
}

// The outlier measurement's phases: the warm-up, then the window measured.
const (
	outlierWarmUp  = time.Second
	outlierMeasure = 2 * time.Second
)

// measureOutlier runs call from 4 goroutines for the warm-up and the
// measured window, logs the error rate of the window and fails at 1%.
func measureOutlier(t *testing.T, name string, call func() error) {
	t.Helper()
	var calls, errs, warmErrs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				elapsed := time.Since(start)
				if elapsed >= outlierWarmUp+outlierMeasure {
					return
				}
				err := call()
				switch {
				case elapsed < outlierWarmUp:
					if err != nil {
						warmErrs.Add(1)
					}
				case err != nil:
					errs.Add(1)
					calls.Add(1)
				default:
					calls.Add(1)
				}
			}
		})
	}
	wg.Wait()
	rate := float64(errs.Load()) / float64(max(calls.Load(), 1))
	t.Logf("%s: error rate after %v: %.3f%% (%d of %d calls; %d errors in the warm-up)",
		name, outlierWarmUp, 100*rate, errs.Load(), calls.Load(), warmErrs.Load())
	if calls.Load() < 200 {
		t.Fatalf("only %d calls measured: too few to judge a 1%% rate", calls.Load())
	}
	if rate >= 0.01 {
		t.Fatalf("error rate %.3f%%, want under 1%%", 100*rate)
	}
}

// TestOutlierErrorRateLoopbackGRPC is the same measurement over gRPC, with
// the default balancer (p2c): 5 grpc-go servers, one failing every call
// with Unavailable, called through the Zelos gRPC client's discovery
// balancer, whose picks go through the same selector.
//
//	go test -run TestOutlierErrorRateLoopbackGRPC -v ./selector/
func TestOutlierErrorRateLoopbackGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s")
	}
	reg := registry.NewInMemory()
	ctx := context.Background()
	for i := range 5 {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := ggrpc.NewServer(ggrpc.UnknownServiceHandler(func(_ any, stream ggrpc.ServerStream) error {
			if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			if i == 0 {
				return status.Error(codes.Unavailable, "down")
			}
			return stream.SendMsg(new(emptypb.Empty))
		}))
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		in := &registry.ServiceInstance{ID: fmt.Sprint(i), Name: "outlier", Endpoints: []string{"grpc://" + lis.Addr().String()}}
		if err := reg.Register(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	sel := selector.NewSelector(selector.EjectionTime(500 * time.Millisecond))
	defer sel.Close()
	cc, err := grpc.DialInsecure(ctx, grpc.WithEndpoint("discovery:///outlier"), grpc.WithDiscovery(reg),
		grpc.WithSelector(sel), grpc.WithHealthCheck(false), grpc.WithLogger(log.NewStdLogger(io.Discard)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	measureOutlier(t, "grpc/p2c", func() error {
		return cc.Invoke(ctx, "/outlier.Service/Call", new(emptypb.Empty), new(emptypb.Empty))
	})
}
