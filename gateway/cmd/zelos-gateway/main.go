// Command zelos-gateway runs the Zelos API gateway from a configuration
// file, reloading it when it changes:
//
//	zelos-gateway -conf gateway.yaml
//
// It serves the routes on the configuration's listen address (default
// :8000) with /healthz and /readyz, and /metrics (Prometheus), pprof and the
// probes on its admin address (default 127.0.0.1:9090). discovery:///
// backends are found in the registry the configuration's registry field or
// the -registry flag names: memory, etcd://host:2379[,host:2379] or
// consul://host:8500. Traces are exported over OTLP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos"
	zprom "github.com/zelos-go/zelos/contrib/metrics/prometheus"
	"github.com/zelos-go/zelos/contrib/otel/otlp"
	"github.com/zelos-go/zelos/contrib/registry/consul"
	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/gateway"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/admin"
)

func main() {
	conf := flag.String("conf", "gateway.yaml", "the gateway's configuration file (YAML), watched for changes")
	reg := flag.String("registry", "", "the registry of discovery:/// backends: memory, etcd://host:2379[,host:2379] or consul://host:8500 (default: the configuration's registry, else memory)")
	addr := flag.String("addr", "", "the public address, instead of the configuration's listen")
	flag.Parse()
	logger := log.With(log.NewStdLogger(os.Stdout), "ts", log.DefaultTimestamp, "service", "gateway")
	if err := run(context.Background(), *conf, *reg, *addr, logger); err != nil {
		fmt.Fprintln(os.Stderr, "zelos-gateway:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done or the process is signalled.
func run(ctx context.Context, conf, regURL, addr string, logger log.Logger) error {
	cfg, err := gateway.LoadConfig(conf)
	if err != nil {
		return err
	}
	if regURL == "" {
		regURL = cfg.Registry
	}
	disco, closeReg, err := openRegistry(regURL, logger)
	if err != nil {
		return err
	}
	defer closeReg()

	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mp, err := zprom.NewMeterProvider(promReg)
	if err != nil {
		return err
	}
	defer func() { _ = mp.Shutdown(context.Background()) }()
	opts := []gateway.Option{gateway.WithDiscovery(disco), gateway.WithLogger(logger), gateway.WithMeterProvider(mp)}
	if addr != "" {
		opts = append(opts, gateway.Address(addr))
	}
	if otlp.Enabled() {
		tp, err := otlp.NewTracerProvider(context.Background(), otlp.WithServiceName("gateway"))
		if err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = tp.Shutdown(ctx)
		}()
		opts = append(opts, gateway.WithTracerProvider(tp))
	}
	gw, err := gateway.Open(conf, opts...)
	if err != nil {
		return err
	}
	servers := []transport.Server{gw}
	if cfg.Admin != "off" {
		adminAddr := cfg.Admin
		if adminAddr == "" {
			adminAddr = admin.DefaultAddress
		}
		servers = append(servers, admin.NewServer(admin.Address(adminAddr), admin.Metrics(zprom.Handler(promReg)), admin.Logger(logger)))
	}
	app := zelos.New(zelos.Context(ctx), zelos.Name("gateway"), zelos.Logger(logger), zelos.Server(servers...),
		zelos.DrainDelay(time.Duration(cfg.DrainDelay)))
	return app.Run()
}

// openRegistry returns the Discovery rawURL names.
func openRegistry(rawURL string, logger log.Logger) (registry.Discovery, func(), error) {
	scheme, hosts, _ := strings.Cut(rawURL, "://")
	var list []string
	for _, h := range strings.Split(strings.TrimRight(hosts, "/"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			list = append(list, h)
		}
	}
	switch scheme {
	case "", "memory":
		return registry.NewInMemory(), func() {}, nil
	case "etcd":
		if len(list) == 0 {
			return nil, nil, fmt.Errorf("registry %q: no etcd host", rawURL)
		}
		c, err := clientv3.New(clientv3.Config{Endpoints: list, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, nil, fmt.Errorf("registry %q: %w", rawURL, err)
		}
		return etcd.New(c, etcd.Logger(logger)), func() { _ = c.Close() }, nil
	case "consul":
		if len(list) != 1 {
			return nil, nil, fmt.Errorf("registry %q: want one consul agent, host:port", rawURL)
		}
		cc := consulapi.DefaultConfig()
		cc.Address = list[0]
		c, err := consulapi.NewClient(cc)
		if err != nil {
			return nil, nil, fmt.Errorf("registry %q: %w", rawURL, err)
		}
		return consul.New(c, consul.WithLogger(logger)), func() {}, nil
	}
	return nil, nil, fmt.Errorf("registry %q: want memory, etcd://host:port[,host:port] or consul://host:port", rawURL)
}
