package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/examples/shop/chat"
	shopgateway "github.com/zelos-go/zelos/examples/shop/gateway"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/order"
	"github.com/zelos-go/zelos/examples/shop/product"
	"github.com/zelos-go/zelos/examples/shop/user"
	"github.com/zelos-go/zelos/gateway"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/registry"
)

// options configures start.
type options struct {
	// Addr is the gateway's address; "" means the gateway config's
	// (GATEWAY_ADDR, default 0.0.0.0:8000). Tests pass "127.0.0.1:0".
	Addr string
	// DataDir holds the services' SQLite files; "" means ./data.
	DataDir string
	// ProductInstances is how many product instances run (below 1: one).
	ProductInstances int
	// Logs receives every service's logs; nil means os.Stdout.
	Logs io.Writer
	// NoDemo skips loading the demo data.
	NoDemo bool
	// SlowProduct, when above zero, delays every request of the last
	// product instance (the second of two) by this much, to measure how
	// the balancers route around a slow instance. Zero, the default,
	// slows none.
	SlowProduct time.Duration
}

// shop is a running shop.
type shop struct {
	// Registry is the in-memory registry every service registers in.
	Registry *registry.InMemory
	// GatewayURL is the gateway's base URL, "http://127.0.0.1:8000".
	GatewayURL string
	DataDir    string
	// Products are the product instances, to stop one (a fault).
	Products []*instance
	// SlowProduct is options.SlowProduct: the last product instance's
	// added delay.
	SlowProduct time.Duration
	// all is every instance, the gateway last, in start order.
	all []*instance
}

// instance is one running App.
type instance struct {
	Name    string
	app     *zelos.App
	cancel  context.CancelFunc
	done    chan error
	cleanup func()

	once sync.Once
	err  error
}

// Stop stops the instance gracefully (it drains first) and waits until it
// stopped and released its resources. It may be called more than once.
func (i *instance) Stop() error {
	i.once.Do(func() {
		i.cancel()
		i.err = <-i.done
		if i.cleanup != nil {
			i.cleanup()
		}
	})
	return i.err
}

// ID is the instance's registry ID.
func (i *instance) ID() string { return i.app.ID() }

// serviceAddr is where every service listens in the one-process shop: a
// free port on loopback, found by the gateway through the registry, so
// that any number of instances fit beside the standalone defaults.
const serviceAddr = "127.0.0.1:0"

// startTimeout bounds the wait for an instance to register.
const startTimeout = 30 * time.Second

// start runs the shop until ctx ends or Stop is called.
func start(ctx context.Context, o options) (_ *shop, err error) {
	if o.DataDir == "" {
		o.DataDir = "./data"
	}
	if o.ProductInstances < 1 {
		o.ProductInstances = 1
	}
	if o.Logs == nil {
		o.Logs = os.Stdout
	}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("shop: data directory: %w", err)
	}
	s := &shop{Registry: registry.NewInMemory(), DataDir: o.DataDir, SlowProduct: o.SlowProduct}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	for _, sv := range s.services(o) {
		in, err := s.run(ctx, sv.name, sv.new)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(sv.name, "product") {
			s.Products = append(s.Products, in)
		}
		if err := s.waitRegistered(ctx, sv.reg, in); err != nil {
			return nil, err
		}
	}
	if !o.NoDemo {
		if err := loadDemo(ctx, s.Registry); err != nil {
			return nil, fmt.Errorf("shop: demo data: %w", err)
		}
	}
	if err := s.startGateway(ctx, o); err != nil {
		return nil, err
	}
	return s, nil
}

// service is one service instance the shop starts.
type service struct {
	name string // for the logs: user, product-2...
	reg  string // its registry name, to wait for
	new  func(context.Context) (*zelos.App, func(), error)
}

// services lists the instances to start, in order: user and product
// first, since order checks them; the gateway comes after all.
func (s *shop) services(o options) []service {
	// Every service gets the same options: the shop's registry, a free
	// port for each server, its own log prefix, one data directory.
	svcs := []service{{"user", user.Name, func(ctx context.Context) (*zelos.App, func(), error) {
		return user.NewApp(ctx, user.Options{Registry: s.Registry, Logger: runner.Logger(o.Logs, "user"), DataDir: o.DataDir,
			HTTPAddr: serviceAddr, GRPCAddr: serviceAddr, AdminAddr: serviceAddr})
	}}}
	for i := range o.ProductInstances {
		name := "product"
		if o.ProductInstances > 1 {
			name = fmt.Sprintf("product-%d", i+1)
		}
		var mw []middleware.Middleware
		if o.SlowProduct > 0 && i == o.ProductInstances-1 {
			mw = append(mw, delay(o.SlowProduct))
		}
		svcs = append(svcs, service{name, product.Name, func(ctx context.Context) (*zelos.App, func(), error) {
			return product.NewApp(ctx, product.Options{Registry: s.Registry, Logger: runner.Logger(o.Logs, name), DataDir: o.DataDir,
				HTTPAddr: serviceAddr, GRPCAddr: serviceAddr, AdminAddr: serviceAddr, Middleware: mw})
		}})
	}
	return append(svcs,
		service{"order", order.Name, func(ctx context.Context) (*zelos.App, func(), error) {
			return order.NewApp(ctx, order.Options{Registry: s.Registry, Logger: runner.Logger(o.Logs, "order"), DataDir: o.DataDir,
				HTTPAddr: serviceAddr, GRPCAddr: serviceAddr, AdminAddr: serviceAddr})
		}},
		service{"chat", chat.Name, func(ctx context.Context) (*zelos.App, func(), error) {
			return chat.NewApp(ctx, chat.Options{Registry: s.Registry, Logger: runner.Logger(o.Logs, "chat"), DataDir: o.DataDir,
				HTTPAddr: serviceAddr, GRPCAddr: serviceAddr, AdminAddr: serviceAddr})
		}},
	)
}

// delay is a server middleware that holds every request for d before
// handling it, as a slow disk or a busy host would. It gives up when the
// request's context ends first, so a cancelled call does not wait.
func delay(d time.Duration) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return next(ctx, req)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
}

// run starts one App.
func (s *shop) run(ctx context.Context, name string, newApp func(context.Context) (*zelos.App, func(), error)) (*instance, error) {
	ictx, cancel := context.WithCancel(ctx)
	app, cleanup, err := newApp(ictx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("shop: %s: %w", name, err)
	}
	in := &instance{Name: name, app: app, cancel: cancel, done: make(chan error, 1), cleanup: cleanup}
	go func() { in.done <- app.Run() }()
	s.all = append(s.all, in)
	return in, nil
}

// waitRegistered waits until in is in the registry under name, or fails
// if it stopped first.
func (s *shop) waitRegistered(ctx context.Context, name string, in *instance) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		ins, _ := s.Registry.GetService(ctx, name)
		for _, i := range ins {
			if i.ID == in.ID() {
				return nil
			}
		}
		select {
		case err := <-in.done:
			in.done <- err // for Stop
			return fmt.Errorf("shop: %s stopped at start: %v", in.Name, err)
		case <-ctx.Done():
			return fmt.Errorf("shop: %s did not register: %w", in.Name, ctx.Err())
		case <-t.C:
		}
	}
}

// startGateway runs the gateway on the shop's config
// (examples/shop/gateway/configs/gateway.yaml).
func (s *shop) startGateway(ctx context.Context, o options) error {
	cfg, err := shopgateway.Load()
	if err != nil {
		return fmt.Errorf("shop: gateway config: %w", err)
	}
	logger := runner.Logger(o.Logs, "gateway")
	opts := []gateway.Option{gateway.WithDiscovery(s.Registry), gateway.WithLogger(logger)}
	if o.Addr != "" {
		opts = append(opts, gateway.Address(o.Addr))
	}
	gw, err := gateway.New(cfg, opts...)
	if err != nil {
		return fmt.Errorf("shop: gateway: %w", err)
	}
	_, err = s.run(ctx, "gateway", func(ctx context.Context) (*zelos.App, func(), error) {
		return zelos.New(
			zelos.Context(ctx),
			zelos.Name("gateway"),
			zelos.Logger(logger),
			zelos.Server(gw),
			zelos.DrainDelay(time.Duration(cfg.DrainDelay)),
			zelos.StopTimeout(10*time.Second),
		), nil, nil
	})
	if err != nil {
		return err
	}
	// The gateway's Endpoint binds its listener, so the URL is known
	// before the App serves, and requests to it wait in the backlog.
	u, err := gw.Endpoint()
	if err != nil {
		return fmt.Errorf("shop: gateway: %w", err)
	}
	s.GatewayURL = gatewayURL(u.Host, o.Addr)
	return nil
}

// gatewayURL is the URL to print: the bound port on localhost when the
// gateway listens on every interface, as ":8000" does.
func gatewayURL(bound, addr string) string {
	port := bound[strings.LastIndex(bound, ":")+1:]
	host := "localhost"
	if h := addr[:max(strings.LastIndex(addr, ":"), 0)]; h != "" && h != "0.0.0.0" && h != "[::]" && h != "::" {
		host = h
	}
	return "http://" + host + ":" + port
}

// Stop stops every instance, all at once (each drains for its own
// delay), and waits for them.
func (s *shop) Stop() error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.all))
	for i, in := range s.all {
		wg.Go(func() {
			if err := in.Stop(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", in.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
