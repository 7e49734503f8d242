package grpc_test

import (
	"context"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/transport/grpc"
)

// TestHealthFollowsTheAppStatus runs a server as an App does, with the
// App's health.Status in the context of Start, and watches
// grpc.health.v1 follow it, for the server and for each service.
func TestHealthFollowsTheAppStatus(t *testing.T) {
	st := health.NewStatus()
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(quiet))
	testpb.RegisterTestServiceServer(srv, newTestService("a"))
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(health.NewContext(context.Background(), st)) }()
	hc := healthpb.NewHealthClient(rawDial(t, ep))
	want := func(service string, status healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service}, ggrpc.WaitForReady(true))
			cancel()
			if err == nil && resp.GetStatus() == status {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("health of %q = %v, %v; want %v", service, resp.GetStatus(), err, status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	const svc = "grpc.testing.TestService"
	for _, tc := range []struct {
		name  string
		set   health.State
		want  healthpb.HealthCheckResponse_ServingStatus
		apply bool
	}{
		{"starting", health.Starting, healthpb.HealthCheckResponse_NOT_SERVING, false},
		{"serving", health.Serving, healthpb.HealthCheckResponse_SERVING, true},
		{"stopping", health.Stopping, healthpb.HealthCheckResponse_NOT_SERVING, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.apply {
				st.Set(tc.set)
			}
			want("", tc.want)
			want(svc, tc.want)
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
