// Package zelos is the application runtime of the Zelos microservice
// framework: an App runs transport servers, registers the instance with a
// service registry, and stops gracefully on a signal.
//
//	app := zelos.New(
//		zelos.Name("user.service"),
//		zelos.Version("1.0.0"),
//		zelos.Server(httpSrv, grpcSrv),
//		zelos.Registrar(registry.NewInMemory()),
//	)
//	if err := app.Run(); err != nil {
//		log.Fatal(err)
//	}
//
// Run binds every server's listener before registering, so an instance is
// never advertised on a port that is not listening; stopping deregisters
// first, so traffic drains before the servers stop. A registry that is down
// holds up neither: the App serves while it keeps trying to register (or
// fails at once with RegistrarFailFast), and deregistration is bounded by
// DeregisterTimeout.
//
// # Health, readiness and drain
//
// The App keeps the readiness state of the instance (a health.Status,
// Health) and hands it to its servers, whose probes follow it: the HTTP
// server answers /healthz, /readyz and /health, gRPC servers
// grpc.health.v1, and the admin server (transport/admin) its own /readyz.
// The instance is
//
//   - not ready until every server was started with its listener bound and
//     the first attempt to register it has finished. If that attempt
//     failed because the registry is down, the instance is ready anyway
//     while registration is retried in the background, and the verbose
//     readiness report says so: the instance can serve clients that do not
//     find it through the registry (a Kubernetes Service), and readiness
//     that waited for the registry would turn a registry outage into an
//     outage of every service that restarts meanwhile;
//   - ready while every HealthCheck passes;
//   - not ready from the first moment of a stop, never to be ready again.
//
// A stop then runs in this order: readiness goes false and the instance is
// deregistered; the App waits DrainDelay, serving, while load balancers
// and registry watchers move away; the servers then stop gracefully,
// finishing the requests in flight.
package zelos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport"
)

// AppInfo describes a running application instance.
type AppInfo interface {
	ID() string
	Name() string
	Version() string
	Metadata() map[string]string
	// Endpoint returns the endpoints the instance is registered with, such
	// as grpc://10.0.0.5:9000. It is empty until Run has bound the servers.
	Endpoint() []string
}

// App is a Zelos application: a set of servers with a shared lifecycle.
type App struct {
	opts   options
	log    log.Logger // opts.logger, or nopLogger
	health *health.Status
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	instance *registry.ServiceInstance
}

// New returns an App configured by opts.
func New(opts ...Option) *App {
	o := options{
		ctx:               context.Background(),
		sigs:              []os.Signal{syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGINT},
		registrarTimeout:  10 * time.Second,
		deregisterTimeout: 3 * time.Second,
		stopTimeout:       30 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.id == "" {
		o.id = newID()
	}
	var logger log.Logger = nopLogger{}
	if o.logger != nil {
		logger = o.logger
	}
	ctx, cancel := context.WithCancel(o.ctx)
	return &App{opts: o, log: logger, ctx: ctx, cancel: cancel, health: health.NewStatus(o.checks...)}
}

// Health returns the readiness state of the App, which its servers' probes
// follow; see the package documentation. Mount its handlers elsewhere with
// health.ReadinessHandler.
func (a *App) Health() *health.Status { return a.health }

// ID returns the instance ID.
func (a *App) ID() string { return a.opts.id }

// Name returns the service name.
func (a *App) Name() string { return a.opts.name }

// Version returns the service version.
func (a *App) Version() string { return a.opts.version }

// Metadata returns the instance metadata.
func (a *App) Metadata() map[string]string { return a.opts.metadata }

// Endpoint returns the registered endpoints, once Run has bound the servers.
func (a *App) Endpoint() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.instance == nil {
		return nil
	}
	return a.instance.Endpoints
}

// Run binds and starts the servers, registers the instance, and blocks until
// a signal arrives, Stop is called, the context given with the Context option
// is done, or a server fails. It then deregisters the instance, stops the
// servers gracefully within the stop timeout and runs the stop hooks.
//
// A server failing to start stops the others, and Run returns its error.
//
// Registration runs in the background, so that a signal is handled at once
// even while the registry does not answer. If the first attempt fails the
// App serves anyway and keeps trying with backoff, logging each failure,
// unless RegistrarFailFast is given; the after-start hooks run after the
// first attempt, whatever its outcome.
func (a *App) Run() error {
	if a.opts.registrar != nil && a.opts.name == "" {
		// Checked before anything binds: registries reject a nameless
		// instance, and only after the servers would have started.
		return errors.New("zelos: the App has a Registrar but no name: set one with zelos.Name, the name clients discover the service by")
	}
	instance, err := a.buildInstance()
	if err != nil {
		a.stopServers()
		return err
	}
	a.mu.Lock()
	a.instance = instance
	a.mu.Unlock()

	ctx := health.NewContext(NewContext(a.ctx, a), a.health)
	for _, fn := range a.opts.beforeStart {
		if err := fn(ctx); err != nil {
			a.stopServers()
			return fmt.Errorf("zelos: before-start hook: %w", err)
		}
	}

	sigs := make(chan os.Signal, 1)
	if len(a.opts.sigs) > 0 {
		signal.Notify(sigs, a.opts.sigs...)
		defer signal.Stop(sigs)
	}

	var wg sync.WaitGroup
	errc := a.startServers(ctx, &wg)

	var reg *registration
	if a.opts.registrar != nil {
		reg = &registration{first: make(chan error, 1), done: make(chan struct{})}
		go a.register(ctx, instance, reg)
	}
	runErr, stopping := a.waitRegistered(reg, sigs, errc)
	ready := runErr == nil && !stopping && a.ctx.Err() == nil
	if ready {
		// Every server has been started on a bound listener (connections
		// wait in its backlog until it accepts them) and registration has
		// had its first go: see the package documentation.
		a.health.Set(health.Serving)
		for _, fn := range a.opts.afterStart {
			if err := fn(ctx); err != nil {
				runErr = fmt.Errorf("zelos: after-start hook: %w", err)
				break
			}
		}
	}
	if runErr == nil && !stopping {
		_ = a.log.Log(log.LevelInfo, "msg", "app started", "id", instance.ID, "name", instance.Name, "endpoints", instance.Endpoints)
		select {
		case <-a.ctx.Done():
		case sig := <-sigs:
			_ = a.log.Log(log.LevelInfo, "msg", "app stopping", "signal", sig.String())
		case runErr = <-errc:
		}
	}
	// Drain only a ready App asked to stop: one that failed (a server, a
	// hook) has nothing to wait for.
	return errors.Join(runErr, a.shutdown(instance, reg, &wg, sigs, ready && runErr == nil))
}

// startServers starts every server in a goroutine counted by wg. A server
// that fails sends its error on the channel returned.
func (a *App) startServers(ctx context.Context, wg *sync.WaitGroup) <-chan error {
	errc := make(chan error, len(a.opts.servers))
	for _, srv := range a.opts.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Start(ctx); err != nil {
				errc <- fmt.Errorf("zelos: server %T: %w", srv, err)
			}
		}()
	}
	return errc
}

// waitRegistered waits for the first registration attempt, if there is a
// registrar, while honouring a stop request. It returns the error that
// ends Run, or stopping if a stop was asked for meanwhile.
func (a *App) waitRegistered(reg *registration, sigs <-chan os.Signal, errc <-chan error) (runErr error, stopping bool) {
	if reg == nil {
		return nil, false
	}
	select {
	case err := <-reg.first:
		if err != nil && a.opts.registrarFailFast && a.ctx.Err() == nil {
			return err, false
		}
		return nil, false
	case <-a.ctx.Done():
		return nil, true
	case sig := <-sigs:
		_ = a.log.Log(log.LevelInfo, "msg", "app stopping", "signal", sig.String())
		return nil, true
	case err := <-errc:
		return err, false
	}
}

// registration is the state of the goroutine registering the instance.
type registration struct {
	first      chan error    // the first attempt's error, nil if it succeeded
	done       chan struct{} // closed when the goroutine returns
	registered bool          // written before done is closed
}

// register registers instance, trying again with backoff after a failure
// (unless RegistrarFailFast is given) until it succeeds or ctx is done.
// Each attempt is bounded by the registrar timeout.
func (a *App) register(ctx context.Context, instance *registry.ServiceInstance, reg *registration) {
	defer close(reg.done)
	b := backoff.Reconnect().Start()
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, a.opts.registrarTimeout)
		err := a.opts.registrar.Register(rctx, instance)
		cancel()
		if err != nil {
			err = fmt.Errorf("zelos: register %s (%s): %w", instance.Name, instance.ID, err)
		}
		if attempt == 1 {
			reg.first <- err
		}
		if err == nil {
			reg.registered = true
			a.health.SetNote("")
			if attempt > 1 {
				_ = a.log.Log(log.LevelInfo, "msg", "app registered", "id", instance.ID, "name", instance.Name, "attempts", attempt)
			}
			return
		}
		if ctx.Err() != nil || a.opts.registrarFailFast {
			return
		}
		delay := b.Next()
		a.health.SetNote("not registered: the registry failed, retrying in the background (readiness does not wait for it)")
		_ = a.log.Log(log.LevelWarn, "msg", "app register failed, serving unregistered and trying again", "id", instance.ID, "name", instance.Name,
			"attempt", attempt, "retry_in", delay.String(), "error", err.Error())
		if backoff.Sleep(ctx, nil, delay) != nil {
			return
		}
	}
}

// deregister deregisters the instance within DeregisterTimeout, once the
// registration goroutine has ended, if it registered the instance.
func (a *App) deregister(ctx context.Context, instance *registry.ServiceInstance, reg *registration) error {
	if !a.waitRegistration(reg) {
		_ = a.log.Log(log.LevelWarn, "msg", "app not deregistered: the registrar ignored the cancellation of its Register call", "id", instance.ID)
		return nil
	}
	if !reg.registered {
		_ = a.log.Log(log.LevelInfo, "msg", "app not deregistered: it was never registered", "id", instance.ID)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.deregisterTimeout)
	defer cancel()
	if err := a.opts.registrar.Deregister(ctx, instance); err != nil {
		return fmt.Errorf("zelos: deregister %s (%s): %w", instance.Name, instance.ID, err)
	}
	return nil
}

// waitRegistration waits for the registration goroutine, which the
// cancelled App context ends, for DeregisterTimeout at most: a registrar
// that ignores its context must not hold up the stop. It reports whether
// the goroutine ended.
func (a *App) waitRegistration(reg *registration) bool {
	t := time.NewTimer(a.opts.deregisterTimeout)
	defer t.Stop()
	select {
	case <-reg.done:
		return true
	case <-t.C:
		return false
	}
}

// shutdown runs the stop sequence: unready, hooks, deregistration, drain
// (if drain), servers, hooks.
func (a *App) shutdown(instance *registry.ServiceInstance, reg *registration, wg *sync.WaitGroup, sigs <-chan os.Signal, drain bool) error {
	// Unready first, before anything that may take time: probes must see
	// the stop while the servers still serve.
	a.health.Set(health.Stopping)
	// Cancelling the App's context also abandons a registration attempt in
	// flight, so that a registry that is down cannot hold up the stop.
	a.cancel()
	// The hooks and the registrar get a fresh context: the App's is done.
	ctx := NewContext(context.WithoutCancel(a.ctx), a)
	var errs []error
	for _, fn := range a.opts.beforeStop {
		if err := fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("zelos: before-stop hook: %w", err))
		}
	}
	if reg != nil {
		if err := a.deregister(ctx, instance, reg); err != nil {
			errs = append(errs, err)
		}
	}
	if drain {
		a.drain(sigs)
	}
	errs = append(errs, a.stopServers())
	wg.Wait()
	for _, fn := range a.opts.afterStop {
		if err := fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("zelos: after-stop hook: %w", err))
		}
	}
	_ = a.log.Log(log.LevelInfo, "msg", "app stopped", "id", instance.ID)
	return errors.Join(errs...)
}

// drain waits DrainDelay, while the servers keep serving the requests that
// still come, or until another signal arrives: an operator who asks twice
// wants it to stop now.
func (a *App) drain(sigs <-chan os.Signal) {
	if a.opts.drainDelay <= 0 {
		return
	}
	_ = a.log.Log(log.LevelInfo, "msg", "app draining: not ready, serving until the delay ends", "id", a.opts.id, "delay", a.opts.drainDelay.String())
	t := time.NewTimer(a.opts.drainDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case sig := <-sigs:
		_ = a.log.Log(log.LevelInfo, "msg", "app drain cut short", "signal", sig.String())
	}
}

// stopServers stops every server concurrently within the stop timeout.
func (a *App) stopServers() error {
	ctx, cancel := context.WithTimeout(NewContext(context.WithoutCancel(a.ctx), a), a.opts.stopTimeout)
	defer cancel()
	errs := make([]error, len(a.opts.servers))
	var wg sync.WaitGroup
	for i, srv := range a.opts.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Stop(ctx); err != nil {
				errs[i] = fmt.Errorf("zelos: stop server %T: %w", srv, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stop asks a running App to stop; Run returns once it has. The App is
// unready when Stop returns. Stop does not wait and may be called more
// than once, and before Run.
func (a *App) Stop() error {
	a.health.Set(health.Stopping)
	a.cancel()
	return nil
}

// buildInstance describes the instance to register. It asks every server
// that is a transport.Endpointer for its endpoint, which binds its listener.
func (a *App) buildInstance() (*registry.ServiceInstance, error) {
	endpoints := make([]string, 0, len(a.opts.endpoints)+len(a.opts.servers))
	for _, u := range a.opts.endpoints {
		endpoints = append(endpoints, u.String())
	}
	for _, srv := range a.opts.servers {
		e, ok := srv.(transport.Endpointer)
		if !ok {
			continue
		}
		u, err := e.Endpoint()
		if err != nil {
			return nil, fmt.Errorf("zelos: endpoint of server %T: %w", srv, err)
		}
		if len(a.opts.endpoints) == 0 {
			endpoints = append(endpoints, u.String())
		}
	}
	return &registry.ServiceInstance{
		ID:        a.opts.id,
		Name:      a.opts.name,
		Version:   a.opts.version,
		Metadata:  a.opts.metadata,
		Endpoints: endpoints,
	}, nil
}

// nopLogger discards records. It is the App's logger when none is given,
// so that the App logs with direct calls: a wrapper that checked for nil
// would be the call site log.Caller reports for every line.
type nopLogger struct{}

func (nopLogger) Log(log.Level, ...any) error { return nil }

type appKey struct{}

// NewContext returns a context carrying the app info.
func NewContext(ctx context.Context, info AppInfo) context.Context {
	return context.WithValue(ctx, appKey{}, info)
}

// FromContext returns the app info in ctx. Servers started by an App receive
// it in the context given to Start.
func FromContext(ctx context.Context) (AppInfo, bool) {
	info, ok := ctx.Value(appKey{}).(AppInfo)
	return info, ok
}

func newID() string {
	host, _ := os.Hostname()
	var b [8]byte
	_, _ = rand.Read(b[:])
	if host == "" {
		return hex.EncodeToString(b[:])
	}
	return host + "-" + hex.EncodeToString(b[:])
}
