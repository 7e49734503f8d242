// Command helloworld is the Zelos example service: one binary serving the
// Greeter over HTTP and gRPC, with recovery, logging, metadata and
// validation middleware, and a client that finds the service through a
// registry.
//
//	go run ./examples/helloworld -conf examples/helloworld/configs
//
// Without -conf it runs on the configuration embedded in the binary. Any key
// can be overridden from the environment with the HELLOWORLD_ prefix, such as
// HELLOWORLD_SERVER_HTTP_ADDR=127.0.0.1:8080.
//
// The service registers itself under server.name ("helloworld"). By default
// the registry is in-memory, private to the process. With
// -registry etcd://127.0.0.1:2379 it registers in etcd instead, and other
// processes can find it:
//
//	helloworld -registry etcd://127.0.0.1:2379                       # a server
//	helloworld -registry etcd://127.0.0.1:2379 -call zelos -n 4      # a client
//
// The client dials discovery:///helloworld, calls SayHello n times over
// gRPC (balancing over the instances), prints each reply on stdout and the
// instance that served it on stderr, and exits.
//
// Observability: the HTTP port answers the Kubernetes probes (/healthz,
// /readyz, /health); an admin listener at server.admin.addr (default
// 127.0.0.1:9090, HELLOWORLD_SERVER_ADMIN_ADDR overrides it, "" turns it
// off) serves /metrics for Prometheus, /debug/pprof/ and the probes; and
// with OTEL_EXPORTER_OTLP_ENDPOINT set (http://127.0.0.1:4317, say) traces
// go to that OTLP/gRPC collector.
package main

import (
	"context"
	crand "crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	ggrpc "google.golang.org/grpc"
	grpcmd "google.golang.org/grpc/metadata"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/env"
	"github.com/zelos-go/zelos/config/file"
	zprom "github.com/zelos-go/zelos/contrib/metrics/prometheus"
	"github.com/zelos-go/zelos/contrib/otel/otlp"
	"github.com/zelos-go/zelos/contrib/registry/etcd"
	v1 "github.com/zelos-go/zelos/examples/helloworld/api/helloworld/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/admin"
	"github.com/zelos-go/zelos/transport/grpc"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

//go:embed configs/config.yaml
var defaultConfig []byte

// callTimeout bounds each call of the client mode.
const callTimeout = 5 * time.Second

func main() {
	conf := flag.String("conf", "", "config file or directory (default: the embedded configs/config.yaml)")
	reg := flag.String("registry", "", "service registry, etcd://host:port[,host:port...] (default: in-memory, visible to this process only)")
	call := flag.String("call", "", "client mode: call SayHello with this name through the registry, print the reply and exit (needs -registry)")
	n := flag.Int("n", 1, "client mode: number of calls")
	flag.Parse()

	var err error
	if *call != "" {
		// Client mode: logs go to stderr, replies to stdout.
		logger := log.NewStdLogger(os.Stderr)
		err = runClient(*conf, *reg, *call, *n, os.Stdout, os.Stderr, logger)
	} else {
		logger := log.With(log.NewStdLogger(os.Stdout),
			"ts", log.DefaultTimestamp,
			"caller", log.DefaultCaller,
		)
		err = run(*conf, *reg, logger)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helloworld:", err)
		os.Exit(1)
	}
}

// run loads the configuration and runs the service, registered in the
// registry named by registryURL, until it is stopped.
func run(confPath, registryURL string, logger log.Logger) error {
	bc, closeConfig, err := loadConfig(confPath, logger)
	if err != nil {
		return err
	}
	defer closeConfig()
	reg, closeReg, err := openRegistry(registryURL, logger)
	if err != nil {
		return err
	}
	defer closeReg()

	tel, err := newTelemetry(bc, logger)
	if err != nil {
		return err
	}
	defer tel.shutdown()

	id := newInstanceID()
	greeter := NewGreeterService(bc.Greeter.Prefix, logger)
	hs, err := NewHTTPServer(&bc.Server.HTTP, id, greeter, tel, logger)
	if err != nil {
		return err
	}
	gs, err := NewGRPCServer(&bc.Server.GRPC, id, greeter, tel, logger)
	if err != nil {
		return err
	}
	servers := []transport.Server{hs, gs}
	if bc.Server.Admin.Addr != "" {
		servers = append(servers, admin.NewServer(
			admin.Address(bc.Server.Admin.Addr),
			admin.Metrics(zprom.Handler(tel.registry)),
			admin.Logger(logger),
		))
	}
	app := zelos.New(
		zelos.ID(id),
		zelos.Name(bc.Server.Name),
		zelos.Version(bc.Server.Version),
		zelos.Logger(logger),
		zelos.Server(servers...),
		zelos.Registrar(reg),
	)
	return app.Run()
}

// telemetry is where the service's metrics and traces go.
type telemetry struct {
	// registry holds the metrics /metrics serves: the middleware's,
	// through meters, and the Go runtime's and the process's.
	registry *prometheus.Registry
	meters   *sdkmetric.MeterProvider
	// tracer is the OTLP exporter's TracerProvider if
	// OTEL_EXPORTER_OTLP_ENDPOINT is set, else a no-op one.
	tracer   trace.TracerProvider
	shutdown func()
}

// newTelemetry sets up the Prometheus registry and, if asked for, the OTLP
// trace exporter. shutdown flushes the spans not yet sent.
func newTelemetry(bc *Bootstrap, logger log.Logger) (*telemetry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mp, err := zprom.NewMeterProvider(reg)
	if err != nil {
		return nil, err
	}
	t := &telemetry{registry: reg, meters: mp, tracer: noop.NewTracerProvider()}
	var tp *sdktrace.TracerProvider
	if otlp.Enabled() {
		tp, err = otlp.NewTracerProvider(context.Background(),
			otlp.WithServiceName(bc.Server.Name), otlp.WithServiceVersion(bc.Server.Version))
		if err != nil {
			_ = mp.Shutdown(context.Background())
			return nil, err
		}
		t.tracer = tp
		_ = logger.Log(log.LevelInfo, "msg", "tracing to OTLP", "endpoint", os.Getenv(otlp.EndpointEnv))
	}
	t.shutdown = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if tp != nil {
			if err := tp.Shutdown(ctx); err != nil {
				_ = logger.Log(log.LevelWarn, "msg", "flushing the last spans failed", "error", err.Error())
			}
		}
		_ = mp.Shutdown(ctx)
	}
	return t, nil
}

// runClient calls SayHello(name) n times on the instances of server.name
// found in the registry, writing each reply to out and the instance that
// served it to info.
func runClient(confPath, registryURL, name string, n int, out, info io.Writer, logger log.Logger) error {
	if n < 1 {
		return fmt.Errorf("-n %d: want at least 1 call", n)
	}
	if registryURL == "" {
		return errors.New("-call needs -registry: the default in-memory registry is private to each process, so a client would find no server")
	}
	bc, closeConfig, err := loadConfig(confPath, logger)
	if err != nil {
		return err
	}
	defer closeConfig()
	reg, closeReg, err := openRegistry(registryURL, logger)
	if err != nil {
		return err
	}
	defer closeReg()

	tel, err := newTelemetry(bc, logger)
	if err != nil {
		return err
	}
	defer tel.shutdown()

	target := "discovery:///" + bc.Server.Name
	ctx := context.Background()
	conn, err := grpc.DialInsecure(ctx,
		grpc.WithEndpoint(target),
		grpc.WithDiscovery(reg),
		grpc.WithTimeout(callTimeout),
		grpc.WithLogger(logger),
		grpc.WithMiddleware(tracing.Client(tracing.WithTracerProvider(tel.tracer))),
	)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := v1.NewGreeterClient(conn)
	for i := 1; i <= n; i++ {
		var header grpcmd.MD
		reply, err := client.SayHello(ctx, &v1.HelloRequest{Name: name}, ggrpc.Header(&header))
		if err != nil {
			return fmt.Errorf("call %d of %d: SayHello(%q) on %s: %w", i, n, name, target, err)
		}
		fmt.Fprintln(out, reply.GetMessage())
		if ids := header.Get(instanceHeader); len(ids) > 0 {
			fmt.Fprintf(info, "served by %s\n", ids[0])
		}
	}
	return nil
}

// loadConfig loads and scans the configuration; the returned function
// closes it.
func loadConfig(confPath string, logger log.Logger) (*Bootstrap, func(), error) {
	var src config.Source = staticSource(defaultConfig)
	if confPath != "" {
		src = file.NewSource(confPath)
	}
	c := config.New(
		config.WithSource(src, env.NewSource("HELLOWORLD_")),
		config.WithLogger(logger),
	)
	if err := c.Load(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("load config %q: %w", confPath, err)
	}
	var bc Bootstrap
	// Strict: a mistyped key ("adress") is an error, not a default port.
	if err := c.Scan(&bc, config.Strict()); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("scan config: %w", err)
	}
	return &bc, func() { c.Close() }, nil
}

// Registry is what the service registers with and the client discovers
// with.
type Registry interface {
	registry.Registrar
	registry.Discovery
}

// openRegistry returns the registry named by rawURL: the in-memory one for
// "", etcd for etcd://host:port[,host:port...]. The returned function
// releases it.
func openRegistry(rawURL string, logger log.Logger) (Registry, func(), error) {
	if rawURL == "" {
		return registry.NewInMemory(), func() {}, nil
	}
	hosts, ok := strings.CutPrefix(rawURL, "etcd://")
	if !ok {
		return nil, nil, fmt.Errorf("-registry %q: unsupported registry, want etcd://host:port", rawURL)
	}
	var endpoints []string
	for _, h := range strings.Split(strings.TrimRight(hosts, "/"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			endpoints = append(endpoints, h)
		}
	}
	if len(endpoints) == 0 {
		return nil, nil, fmt.Errorf("-registry %q: no etcd host", rawURL)
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(), // failures reach us as errors
	})
	if err != nil {
		return nil, nil, fmt.Errorf("-registry %q: %w", rawURL, err)
	}
	return etcd.New(client, etcd.Logger(logger)), func() { _ = client.Close() }, nil
}

// newInstanceID returns an instance ID unique to this process: the host
// name and a random suffix.
func newInstanceID() string {
	var b [4]byte
	_, _ = crand.Read(b[:])
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "helloworld"
	}
	return host + "-" + hex.EncodeToString(b[:])
}

// Bootstrap is the service configuration.
type Bootstrap struct {
	Server struct {
		Name    string       `json:"name"`
		Version string       `json:"version"`
		HTTP    ServerConfig `json:"http"`
		GRPC    ServerConfig `json:"grpc"`
		// Admin is the admin listener: /metrics, /debug/pprof/, probes.
		// An empty Addr turns it off.
		Admin struct {
			Addr string `json:"addr"`
		} `json:"admin"`
	} `json:"server"`
	Greeter struct {
		Prefix string `json:"prefix"`
	} `json:"greeter"`
}

// ServerConfig is the configuration of one transport server.
type ServerConfig struct {
	Addr    string `json:"addr"`
	Timeout string `json:"timeout"`
}

// staticSource is a config source over bytes embedded in the binary.
type staticSource []byte

func (s staticSource) Load() ([]*config.KeyValue, error) {
	return []*config.KeyValue{{Key: "config.yaml", Value: s, Format: "yaml"}}, nil
}

func (s staticSource) Watch() (config.Watcher, error) { return newIdleWatcher(), nil }

// idleWatcher never reports a change: embedded bytes do not change.
type idleWatcher struct{ stop chan struct{} }

func newIdleWatcher() *idleWatcher { return &idleWatcher{stop: make(chan struct{})} }

func (w *idleWatcher) Next() ([]*config.KeyValue, error) {
	<-w.stop
	return nil, context.Canceled
}

func (w *idleWatcher) Stop() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	return nil
}
