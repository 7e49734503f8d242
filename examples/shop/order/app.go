// Package order is the shop's order service: CreateOrder checks the user
// and reserves the products' stock over gRPC (discovery:///user.service,
// discovery:///product.service, with retries, a retry budget and circuit
// breakers), commits the order, then confirms the reservation; GetOrder
// and ListOrders find orders. A recovery loop finishes the orders that a
// crash or an outage left between the steps, so no stock is lost or
// taken twice. Served over gRPC and HTTP (the google.api.http rules of
// api/order/v1/order.proto); a retried POST /api/v1/orders with the same
// Idempotency-Key header creates one order.
//
// NewApp builds the service for a process that runs it beside others (the
// one-process shop, tests); cmd/order runs it alone:
//
//	go run ./examples/shop/order/cmd/order -conf examples/shop/order/configs -registry memory
package order

import (
	"context"
	_ "embed"
	"errors"
	"os"
	"time"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
	orderconf "github.com/zelos-go/zelos/examples/shop/order/internal/conf"
	"github.com/zelos-go/zelos/examples/shop/order/internal/data"
	"github.com/zelos-go/zelos/examples/shop/order/internal/server"
	"github.com/zelos-go/zelos/examples/shop/order/internal/service"
	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// Name is the service's name in the registry.
const Name = "order.service"

// DefaultConfig is configs/config.yaml, the configuration the service runs
// on when given none.
//
//go:embed configs/config.yaml
var DefaultConfig []byte

// Options configures NewApp.
type Options struct {
	// Registry is where the service registers and finds the user and
	// product services. Required.
	Registry interface {
		registry.Registrar
		registry.Discovery
	}
	// Logger receives the logs; nil means stdout with service=order.
	Logger log.Logger
	// DataDir, when set, replaces data.dir: the SQLite file is
	// <DataDir>/order.db.
	DataDir string
	// HTTPAddr, GRPCAddr and AdminAddr, when set, replace the configured
	// addresses; tests pass "127.0.0.1:0".
	HTTPAddr, GRPCAddr, AdminAddr string
	// Config is the configuration; nil means DefaultConfig.
	Config config.Config

	// stepHook, set by this package's tests, injects failures between the
	// steps of an order (biz.StepHook).
	stepHook func(context.Context, biz.Step, *biz.Order) error
}

// NewApp builds the order service's App. ctx is its parent: cancelling it
// stops the App. The returned function closes the clients, the database
// and the telemetry; call it after Run returned.
func NewApp(ctx context.Context, o Options) (*zelos.App, func(), error) {
	if o.Registry == nil {
		return nil, nil, errors.New("order: Options.Registry is required")
	}
	if o.Logger == nil {
		o.Logger = runner.Logger(os.Stdout, "order")
	}
	var closers closeList
	fail := func(err error) (*zelos.App, func(), error) {
		closers.run()
		return nil, nil, err
	}
	bc, d, closeConfig, err := load(o)
	if err != nil {
		return nil, nil, err
	}
	closers.add(closeConfig)
	g, ping, closeDB, err := data.Open(ctx, bc.Data)
	if err != nil {
		return fail(err)
	}
	closers.add(closeDB)
	svc, err := kit.New(ctx, kit.Options{
		Server:       bc.Server,
		HTTPAddr:     o.HTTPAddr,
		GRPCAddr:     o.GRPCAddr,
		AdminAddr:    o.AdminAddr,
		Logger:       o.Logger,
		Registrar:    o.Registry,
		HealthChecks: []health.Check{{Name: "database", Func: ping}},
	})
	if err != nil {
		return fail(err)
	}
	closers.add(svc.Close)
	clients, err := data.NewClients(ctx, data.ClientOptions{
		UserTarget:    bc.Clients.User,
		ProductTarget: bc.Clients.Product,
		Discovery:     o.Registry,
		Timeout:       d.clientTimeout,
		Attempts:      bc.Clients.Attempts,
		Tracer:        svc.Tracer,
		Meters:        svc.Meters,
		Logger:        o.Logger,
	})
	if err != nil {
		return fail(err)
	}
	closers.add(clients.Close)
	opts := []biz.Option{biz.PendingTimeout(d.pendingTimeout), biz.RecoverGrace(d.recoverGrace)}
	if o.stepHook != nil {
		opts = append(opts, biz.StepHook(o.stepHook))
	}
	uc := biz.NewOrderUsecase(data.NewOrderRepo(g), clients.Users, clients.Products, o.Logger, opts...)
	server.Register(svc, service.NewOrderService(uc))
	recoverer := server.NewRecoverer(uc, d.recoverInterval, o.Logger)
	return svc.App(zelos.Server(recoverer)), closers.run, nil
}

// load returns the configuration of o (DefaultConfig if it has none),
// with o.DataDir applied and its durations parsed. The returned function
// closes the configuration if load opened it.
func load(o Options) (orderconf.Bootstrap, settings, func(), error) {
	var bc orderconf.Bootstrap
	c, closeConfig := o.Config, func() {}
	if c == nil {
		var err error
		if c, err = conf.Load(DefaultConfig, "", o.Logger); err != nil {
			return bc, settings{}, nil, err
		}
		closeConfig = func() { _ = c.Close() }
	}
	if err := conf.Scan(c, &bc); err != nil {
		closeConfig()
		return bc, settings{}, nil, err
	}
	if o.DataDir != "" {
		bc.Data.Dir = o.DataDir
	}
	d, err := durations(bc)
	if err != nil {
		closeConfig()
		return bc, settings{}, nil, err
	}
	return bc, d, closeConfig, nil
}

// settings are the configuration's durations, parsed.
type settings struct {
	clientTimeout, pendingTimeout, recoverInterval, recoverGrace time.Duration
}

// durations parses the configuration's durations; an empty (or zero) one
// takes its default.
func durations(bc orderconf.Bootstrap) (settings, error) {
	var s settings
	for _, f := range []struct {
		key, value string
		def        time.Duration
		dst        *time.Duration
	}{
		{"clients.timeout", bc.Clients.Timeout, 3 * time.Second, &s.clientTimeout},
		{"order.pending_timeout", bc.Order.PendingTimeout, 2 * time.Minute, &s.pendingTimeout},
		{"order.recover_interval", bc.Order.RecoverInterval, 2 * time.Second, &s.recoverInterval},
		{"order.recover_grace", bc.Order.RecoverGrace, 5 * time.Second, &s.recoverGrace},
	} {
		d, err := conf.Duration(f.key, f.value)
		if err != nil {
			return s, err
		}
		if d == 0 {
			d = f.def
		}
		*f.dst = d
	}
	return s, nil
}

// closeList runs release functions in reverse order of adding, once.
type closeList []func()

func (l *closeList) add(fn func()) { *l = append(*l, fn) }

func (l *closeList) run() {
	for i := len(*l) - 1; i >= 0; i-- {
		(*l)[i]()
	}
	*l = nil
}
