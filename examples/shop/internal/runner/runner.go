// Package runner is the main function of every shop service binary: it
// reads -conf and -registry, loads the configuration, opens the registry,
// builds the service's App and runs it until a signal stops it.
//
//	func main() { runner.Main("user", user.DefaultConfig, newApp) }
package runner

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/registryurl"
	"github.com/zelos-go/zelos/log"
)

// NewApp builds a service's App on a loaded configuration and an open
// registry; the returned function releases what the App used.
type NewApp func(ctx context.Context, reg registryurl.Registry, c config.Config, logger log.Logger) (*zelos.App, func(), error)

// Logger returns the logger of service svc writing to w: timestamp,
// caller, and service=svc on every record, so that the logs of services
// sharing one process tell apart.
func Logger(w io.Writer, svc string) log.Logger {
	return log.With(log.NewStdLogger(w),
		"ts", log.DefaultTimestamp,
		"caller", log.DefaultCaller,
		"service", svc,
	)
}

// Main runs service svc with the process's flags and exits non-zero if it
// fails.
func Main(svc string, embedded []byte, newApp NewApp) {
	if err := Run(context.Background(), svc, embedded, os.Args[1:], os.Stdout, newApp); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", svc, err)
		os.Exit(1)
	}
}

// Run parses args (-conf, -config-center, -registry), then runs the App until ctx ends or
// a signal stops it.
func Run(ctx context.Context, svc string, embedded []byte, args []string, out io.Writer, newApp NewApp) error {
	fs := flag.NewFlagSet(svc, flag.ContinueOnError)
	confPath := fs.String("conf", "", "config file or directory (default: the embedded configs/config.yaml)")
	center := fs.String("config-center", "", "a config center key layered over -conf: etcd://host:2379/key or consul://host:8500/key")
	regURL := fs.String("registry", "", "memory, etcd://host:2379[,host:2379] or consul://host:8500 (default: the config's registry key, REGISTRY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := Logger(out, svc)
	c, closeCenter, err := conf.LoadCenter(embedded, *confPath, *center, logger)
	if err != nil {
		return err
	}
	defer closeCenter()
	defer c.Close()
	if *regURL == "" {
		*regURL, _ = c.Value("registry").String()
	}
	reg, closeReg, err := registryurl.Open(*regURL, logger)
	if err != nil {
		return err
	}
	defer closeReg()
	app, cleanup, err := newApp(ctx, reg, c, logger)
	if err != nil {
		return err
	}
	defer cleanup()
	return app.Run()
}
