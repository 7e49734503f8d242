package bench

import (
	"context"
	"encoding/json"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/metadata"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/middleware/recovery"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/transport/http"
)

type helloRequest struct {
	Name string `json:"name"`
}

type helloReply struct {
	Message string `json:"message"`
}

// BenchmarkHTTP measures GET /hello/{name} answering {"message":"Hello
// <name>"} in process (httptest.NewRecorder and ServeHTTP, no network):
//   - raw: net/http ServeMux ("GET /hello/{name}") and encoding/json;
//   - router/...: a Zelos Router route whose HandlerFunc calls
//     ctx.Result(200, &reply) with a plain struct;
//   - unary/...: a Zelos Unary[helloRequest, helloReply] route, as
//     generated code registers, with plain Go structs;
//
// each with two server chains: recovery+metadata, and
// recovery+metadata+logging to log.NewStdLogger(io.Discard).
func BenchmarkHTTP(b *testing.B) {
	discard := log.NewStdLogger(io.Discard)
	b.Run("raw", func(b *testing.B) {
		mux := nethttp.NewServeMux()
		mux.HandleFunc("GET /hello/{name}", func(w nethttp.ResponseWriter, r *nethttp.Request) {
			reply := helloReply{Message: "Hello " + r.PathValue("name")}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(&reply)
		})
		runHello(b, mux)
	})
	chains := []struct {
		name string
		ms   func() []middleware.Middleware
	}{
		{"recovery-metadata", func() []middleware.Middleware {
			return []middleware.Middleware{recovery.Recovery(recovery.WithLogger(discard)), metadata.Server()}
		}},
		{"recovery-metadata-logging", func() []middleware.Middleware {
			return []middleware.Middleware{recovery.Recovery(recovery.WithLogger(discard)), metadata.Server(), logging.Server(discard)}
		}},
		// Observability (issue 10): each beside recovery+metadata, so the
		// difference to that chain is the middleware's own cost.
		{"recovery-metadata-tracing-noop", func() []middleware.Middleware {
			return append(observed(), tracing.Server(tracing.WithTracerProvider(tracenoop.NewTracerProvider())))
		}},
		{"recovery-metadata-tracing-sdk", func() []middleware.Middleware {
			return append(observed(), tracing.Server(tracing.WithTracerProvider(sdkTracer())))
		}},
		{"recovery-metadata-metrics-prometheus", func() []middleware.Middleware {
			return append(observed(), metrics.Server(metrics.WithMeterProvider(promMeter())))
		}},
	}
	// The same route without middleware, with and without a 1s server
	// timeout: the timeout's own cost (issue 9: at most 2 allocs, and the
	// route within 3 allocs of raw with it).
	for _, tc := range []struct {
		name string
		opts []http.ServerOption
	}{
		{"router/bare", nil},
		{"router/timeout-1s", []http.ServerOption{http.Timeout(time.Second)}},
		{"router/recovery-metadata-timeout-1s", []http.ServerOption{http.Timeout(time.Second), http.Middleware(chains[0].ms()...)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := http.NewServer(append([]http.ServerOption{http.Logger(discard)}, tc.opts...)...)
			srv.Route("/").GET("/hello/{name}", func(ctx http.Context) error {
				reply := helloReply{Message: "Hello " + ctx.PathValue("name")}
				return ctx.Result(200, &reply)
			})
			runHello(b, srv)
		})
	}
	for _, ch := range chains {
		b.Run("router/"+ch.name, func(b *testing.B) {
			srv := http.NewServer(http.Logger(discard), http.Middleware(ch.ms()...))
			srv.Route("/").GET("/hello/{name}", func(ctx http.Context) error {
				reply := helloReply{Message: "Hello " + ctx.PathValue("name")}
				return ctx.Result(200, &reply)
			})
			runHello(b, srv)
		})
		b.Run("unary/"+ch.name, func(b *testing.B) {
			srv := http.NewServer(http.Logger(discard), http.Middleware(ch.ms()...))
			http.Unary(srv.Route("/"), "GET", "/hello/{name}", "/hello.Greeter/SayHello",
				func(_ context.Context, in *helloRequest) (*helloReply, error) {
					return &helloReply{Message: "Hello " + in.Name}, nil
				})
			runHello(b, srv)
		})
	}
}

func runHello(b *testing.B, h nethttp.Handler) {
	req := httptest.NewRequest("GET", "/hello/zelos", nil)
	const want = `{"message":"Hello zelos"}`
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if got := w.Body.String(); w.Code != 200 || (got != want && got != want+"\n") {
		b.Fatalf("reply = %d %q", w.Code, got)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}
