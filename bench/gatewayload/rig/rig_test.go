package rig_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/zelos-go/zelos/bench/gatewayload/rig"
	"github.com/zelos-go/zelos/log"
)

// TestScenariosAnswerTheSameReply checks that every path the benchmarks
// time gets the same 200 reply, so that none of them measures an error.
func TestScenariosAnswerTheSameReply(t *testing.T) {
	backend, stop, err := rig.StartHTTPBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	grpcAddr, stopGRPC, err := rig.StartGRPCBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer stopGRPC()
	rp, stopRP, err := rig.StartReverseProxy(backend)
	if err != nil {
		t.Fatal(err)
	}
	defer stopRP()
	gw, stopGW, err := rig.StartGateway(rig.GatewayConfig(backend, grpcAddr, false), log.NewStdLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer stopGW()

	c := rig.Client(1)
	defer c.CloseIdleConnections()
	const want = `{"message":"Hello zelos"}`
	for _, tc := range []struct{ name, url string }{
		{"direct", "http://" + backend + rig.HTTPPath},
		{"httputil", "http://" + rp + rig.HTTPPath},
		{"gateway proxy", "http://" + gw + rig.HTTPPath},
		{"gateway transcode", "http://" + gw + rig.TranscodePath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK || string(body) != want {
				t.Fatalf("%d %s, want 200 %s", res.StatusCode, body, want)
			}
			if err := rig.Get(c, tc.url); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("grpc direct", func(t *testing.T) {
		g, closeConn, err := rig.DialGreeter(grpcAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer closeConn()
		if err := rig.SayHello(context.Background(), g); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Get reports a status that is not 200", func(t *testing.T) {
		if err := rig.Get(c, "http://"+gw+"/nowhere"); err == nil {
			t.Fatal("no error for a 404")
		}
	})
}
