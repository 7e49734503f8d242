// Package product is the shop's product service: the catalogue (CRUD,
// search by name, pages) and its stock, reserved, confirmed and released
// by the order service so that it never goes below zero, over gRPC and
// HTTP (the google.api.http rules of api/product/v1/product.proto).
//
// NewApp builds the service for a process that runs it beside others (the
// one-process shop, tests); cmd/product runs it alone:
//
//	go run ./examples/shop/product/cmd/product -conf examples/shop/product/configs -registry memory
package product

import (
	"context"
	_ "embed"
	"errors"
	"os"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/product/internal/biz"
	productconf "github.com/zelos-go/zelos/examples/shop/product/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/product/internal/data"
	"github.com/zelos-go/zelos/examples/shop/product/internal/server"
	"github.com/zelos-go/zelos/examples/shop/product/internal/service"
	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/registry"
)

// Name is the service's name in the registry.
const Name = "product.service"

// DefaultConfig is configs/config.yaml, the configuration the service runs
// on when given none.
//
//go:embed configs/config.yaml
var DefaultConfig []byte

// Options configures NewApp.
type Options struct {
	// Registry is where the service registers. Required.
	Registry interface {
		registry.Registrar
		registry.Discovery
	}
	// Logger receives the logs; nil means stdout with service=product.
	Logger log.Logger
	// DataDir, when set, replaces data.dir: the SQLite file is
	// <DataDir>/product.db. Instances given one DataDir share the stock.
	DataDir string
	// HTTPAddr, GRPCAddr and AdminAddr, when set, replace the configured
	// addresses; tests pass "127.0.0.1:0".
	HTTPAddr, GRPCAddr, AdminAddr string
	// Config is the configuration; nil means DefaultConfig.
	Config config.Config
	// Middleware runs on every request of both servers, after the
	// standard chain (tracing, metrics, recovery, logging...), next to
	// the handlers; the one-process shop slows one instance with it.
	// Nil, the default, adds none.
	Middleware []middleware.Middleware
}

// NewApp builds the product service's App. ctx is its parent: cancelling
// it stops the App. The returned function closes the database and the
// telemetry; call it after Run returned.
func NewApp(ctx context.Context, o Options) (*zelos.App, func(), error) {
	if o.Registry == nil {
		return nil, nil, errors.New("product: Options.Registry is required")
	}
	if o.Logger == nil {
		o.Logger = runner.Logger(os.Stdout, "product")
	}
	var closers kit.Closers
	fail := func(err error) (*zelos.App, func(), error) {
		closers.Run()
		return nil, nil, err
	}
	c := o.Config
	if c == nil {
		var err error
		if c, err = conf.Load(DefaultConfig, "", o.Logger); err != nil {
			return nil, nil, err
		}
		closers.Add(func() { _ = c.Close() })
	}
	var bc productconf.Bootstrap
	if err := conf.Scan(c, &bc); err != nil {
		return fail(err)
	}
	if o.DataDir != "" {
		bc.Data.Dir = o.DataDir
	}
	ttl, err := conf.Duration("product.reservation_ttl", bc.Product.ReservationTTL)
	if err != nil {
		return fail(err)
	}
	sweep, err := conf.Duration("product.sweep_interval", bc.Product.SweepInterval)
	if err != nil {
		return fail(err)
	}
	d, closeData, err := data.NewData(ctx, bc.Data)
	if err != nil {
		return fail(err)
	}
	closers.Add(closeData)
	uc := biz.NewProductUsecase(data.NewProductRepo(d), ttl, o.Logger)
	svc, err := kit.New(ctx, kit.Options{
		Server:       bc.Server,
		HTTPAddr:     o.HTTPAddr,
		GRPCAddr:     o.GRPCAddr,
		AdminAddr:    o.AdminAddr,
		Logger:       o.Logger,
		Registrar:    o.Registry,
		Middleware:   o.Middleware,
		HealthChecks: []health.Check{{Name: "database", Func: d.Ping}},
	})
	if err != nil {
		return fail(err)
	}
	closers.Add(svc.Close)
	server.Register(svc, service.NewProductService(uc))
	sw := server.NewSweeper(uc, sweep, o.Logger)
	return svc.App(zelos.AfterStart(sw.Start), zelos.BeforeStop(sw.Stop)), closers.Run, nil
}
