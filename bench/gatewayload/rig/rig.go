// Package rig starts the servers the gateway benchmarks compare, so that
// BenchmarkGatewayProxy, BenchmarkGatewayTranscode and the gatewayload
// command measure the same backends, routes and proxies:
//
//	http, stop, _ := rig.StartHTTPBackend()
//	grpc, stopGRPC, _ := rig.StartGRPCBackend()
//	gw, stopGW, _ := rig.StartGateway(rig.GatewayConfig(http, grpc, true), log.NewStdLogger(io.Discard))
//	c := rig.Client(16)
//	_ = rig.Get(c, "http://"+gw+rig.HTTPPath)       // proxied to the HTTP backend
//	_ = rig.Get(c, "http://"+gw+rig.TranscodePath)  // transcoded to SayHello
//
// Every server listens on 127.0.0.1 and sends traffic nowhere else.
package rig

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	v1 "github.com/zelos-go/zelos/examples/helloworld/api/helloworld/v1"
	"github.com/zelos-go/zelos/gateway"
	"github.com/zelos-go/zelos/log"
	zgrpc "github.com/zelos-go/zelos/transport/grpc"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// The paths every scenario requests: HTTPPath is proxied, TranscodePath is
// SayHello's google.api.http rule (GET /helloworld/{name}).
const (
	HTTPPath      = "/hello/zelos"
	TranscodePath = "/helloworld/zelos"
)

// helloBody is the HTTP backend's reply, the same JSON SayHello's reply
// transcodes to, so both paths carry the same bytes.
var helloBody = []byte(`{"message":"Hello zelos"}`)

// StartHTTPBackend starts a plain net/http server answering every GET with
// a small JSON reply; it costs as little as a server can, so that the
// proxies' costs stand out. It returns the host:port.
func StartHTTPBackend() (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(helloBody)))
		_, _ = w.Write(helloBody)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), func() { _ = srv.Close() }, nil
}

// greeter is the helloworld Greeter: SayHello only.
type greeter struct {
	v1.UnimplementedGreeterServer
}

func (greeter) SayHello(_ context.Context, in *v1.HelloRequest) (*v1.HelloReply, error) {
	return &v1.HelloReply{Message: "Hello " + in.GetName()}, nil
}

// StartGRPCBackend starts a Zelos gRPC server, with no middleware, serving
// the Greeter and the reflection service the gateway reads the
// google.api.http rules from. It returns the host:port.
func StartGRPCBackend() (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := zgrpc.NewServer(zgrpc.Listener(lis), zgrpc.Logger(log.NewStdLogger(io.Discard)))
	v1.RegisterGreeterServer(srv, greeter{})
	go func() { _ = srv.Start(context.Background()) }()
	return lis.Addr().String(), func() { _ = srv.Stop(context.Background()) }, nil
}

// GatewayConfig is the gateway's configuration: prefix /hello proxied
// over HTTP/1.1 to httpAddr, prefix /helloworld transcoded to the gRPC
// backend at grpcAddr, no policies. accessLog false turns the access log
// off (it is on by default).
func GatewayConfig(httpAddr, grpcAddr string, accessLog bool) string {
	return fmt.Sprintf(`
defaults:
  access_log: %t
endpoints:
  - prefix: /hello
    backends: [{target: "http://%s"}]
  - prefix: /helloworld
    protocol: transcode
    backends: [{target: "grpc://%s"}]
`, accessLog, httpAddr, grpcAddr)
}

// NewGateway returns a gateway serving the YAML configuration cfg,
// logging to l, with opts after those; it listens only once started.
func NewGateway(cfg string, l log.Logger, opts ...gateway.Option) (*gateway.Gateway, error) {
	c, err := gateway.ParseConfig([]byte(cfg), "gateway.yaml")
	if err != nil {
		return nil, err
	}
	return gateway.New(c, append([]gateway.Option{gateway.WithLogger(l)}, opts...)...)
}

// StartGateway starts a gateway serving the YAML configuration cfg on
// loopback, logging to l. It returns the host:port.
func StartGateway(cfg string, l log.Logger) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	g, err := NewGateway(cfg, l, gateway.ServerOptions(zhttp.Listener(lis)))
	if err != nil {
		_ = lis.Close()
		return "", nil, err
	}
	go func() { _ = g.Start(context.Background()) }()
	return lis.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Stop(ctx)
	}, nil
}

// NewReverseProxy returns the baseline: a plain httputil.ReverseProxy to
// backendAddr. Its transport keeps as many idle connections per backend as
// the gateway's (256), since the default of 2 would make it dial under
// concurrency and measure the dials.
func NewReverseProxy(backendAddr string) *httputil.ReverseProxy {
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backendAddr})
	rp.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	return rp
}

// StartReverseProxy serves NewReverseProxy(backendAddr) on loopback. It
// returns the host:port.
func StartReverseProxy(backendAddr string) (string, func(), error) {
	return Serve(NewReverseProxy(backendAddr))
}

// Serve serves h on a net/http server on loopback. It returns the
// host:port.
func Serve(h http.Handler) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), func() { _ = srv.Close() }, nil
}

// Client returns a keep-alive HTTP/1.1 client that keeps up to conns idle
// connections per host, one per concurrent caller.
func Client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 90 * time.Second}}
}

// Get requests url, reads the whole reply and returns an error unless it
// is a 200.
func Get(c *http.Client, url string) error {
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("rig: GET %s: status %d", url, res.StatusCode)
	}
	return err
}

// DialGreeter returns a grpc-go client of the Greeter at addr, for the
// direct calls.
func DialGreeter(addr string) (v1.GreeterClient, func(), error) {
	cc, err := ggrpc.NewClient(addr, ggrpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	return v1.NewGreeterClient(cc), func() { _ = cc.Close() }, nil
}

// SayHello is the direct call matching TranscodePath.
func SayHello(ctx context.Context, c v1.GreeterClient) error {
	_, err := c.SayHello(ctx, &v1.HelloRequest{Name: "zelos"})
	return err
}
