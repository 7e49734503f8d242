package zelos

import (
	"context"
	"net/url"
	"os"
	"time"

	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/transport"
)

// Option configures an App.
type Option func(*options)

type options struct {
	id        string
	name      string
	version   string
	metadata  map[string]string
	endpoints []*url.URL

	ctx     context.Context
	sigs    []os.Signal
	logger  log.Logger
	servers []transport.Server

	registrar         registry.Registrar
	registrarTimeout  time.Duration
	deregisterTimeout time.Duration
	registrarFailFast bool
	stopTimeout       time.Duration
	drainDelay        time.Duration
	checks            []health.Check

	beforeStart []func(context.Context) error
	afterStart  []func(context.Context) error
	beforeStop  []func(context.Context) error
	afterStop   []func(context.Context) error
}

// ID sets the instance ID. The default is a random ID.
func ID(id string) Option { return func(o *options) { o.id = id } }

// Name sets the service name, under which the instance is registered.
func Name(name string) Option { return func(o *options) { o.name = name } }

// Version sets the service version.
func Version(version string) Option { return func(o *options) { o.version = version } }

// Metadata sets the instance metadata, such as a zone or a weight. The map
// is copied.
func Metadata(md map[string]string) Option {
	return func(o *options) {
		o.metadata = make(map[string]string, len(md))
		for k, v := range md {
			o.metadata[k] = v
		}
	}
}

// Endpoint sets the endpoints to register, instead of those the servers
// report.
func Endpoint(endpoints ...*url.URL) Option {
	return func(o *options) { o.endpoints = append(o.endpoints, endpoints...) }
}

// Context sets the parent context of the App. Cancelling it stops the App.
func Context(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

// Logger sets the logger for the App's own messages.
func Logger(logger log.Logger) Option { return func(o *options) { o.logger = logger } }

// Server adds transport servers to run.
func Server(srv ...transport.Server) Option {
	return func(o *options) { o.servers = append(o.servers, srv...) }
}

// Signal sets the signals that stop the App. The default is SIGINT, SIGTERM
// and SIGQUIT.
func Signal(sigs ...os.Signal) Option { return func(o *options) { o.sigs = sigs } }

// Registrar sets the registry the instance is registered with. An App with
// a Registrar needs a Name; Run checks it before starting anything.
func Registrar(r registry.Registrar) Option { return func(o *options) { o.registrar = r } }

// RegistrarTimeout bounds each attempt to register the instance. The
// default is 10s. Deregistration has its own bound, DeregisterTimeout.
func RegistrarTimeout(d time.Duration) Option {
	return func(o *options) { o.registrarTimeout = d }
}

// StopTimeout bounds the graceful stop of the servers. The default is 30s.
func StopTimeout(d time.Duration) Option { return func(o *options) { o.stopTimeout = d } }

// BeforeStart adds a hook run before the servers start. An error aborts Run.
func BeforeStart(fn func(context.Context) error) Option {
	return func(o *options) { o.beforeStart = append(o.beforeStart, fn) }
}

// AfterStart adds a hook run after the servers started and the first attempt
// to register the instance: it was registered, or the registry is down and
// the App keeps trying in the background (see RegistrarFailFast). An error
// stops the App.
func AfterStart(fn func(context.Context) error) Option {
	return func(o *options) { o.afterStart = append(o.afterStart, fn) }
}

// BeforeStop adds a hook run when the App begins to stop, before
// deregistration.
func BeforeStop(fn func(context.Context) error) Option {
	return func(o *options) { o.beforeStop = append(o.beforeStop, fn) }
}

// AfterStop adds a hook run after the servers stopped.
func AfterStop(fn func(context.Context) error) Option {
	return func(o *options) { o.afterStop = append(o.afterStop, fn) }
}

// RegistrarFailFast makes Run fail, stopping the servers, when the first
// attempt to register the instance fails. By default the App serves
// anyway and keeps trying to register, with backoff, until it succeeds or
// the App stops, logging each failed attempt: an instance started while
// the registry is down becomes discoverable once the registry is back.
func RegistrarFailFast() Option { return func(o *options) { o.registrarFailFast = true } }

// DeregisterTimeout bounds deregistration when the App stops. The default
// is 3s, shorter than RegistrarTimeout's: a registry that is down must not
// hold up the stop, and the instance it keeps disappears anyway once its
// registration expires (an etcd lease's or a Consul check's TTL). It also
// bounds the wait for a registration attempt in flight at the stop, which
// is cancelled; if the registrar ignores that, the instance is not
// deregistered.
func DeregisterTimeout(d time.Duration) Option {
	return func(o *options) { o.deregisterTimeout = d }
}

// DrainDelay sets how long a stopping App keeps serving after it became
// unready and deregistered, before it stops the servers: the time load
// balancers (which see /readyz fail) and registry watchers (which see the
// instance go) need to send no more requests to it. Zero, the default,
// stops the servers at once. Kubernetes users set it to a few probe
// periods (readinessProbe.periodSeconds times failureThreshold), below the
// pod's terminationGracePeriodSeconds minus the StopTimeout. A second
// signal ends the delay early. An App that never became ready does not
// wait, nor one stopping because a server or an AfterStart hook failed.
func DrainDelay(d time.Duration) Option { return func(o *options) { o.drainDelay = d } }

// HealthCheck adds a dependency check to readiness, such as a database
// ping: while fn fails, the App's readiness probes (/readyz on the HTTP
// and admin servers) answer 503, and /readyz?verbose names the check. fn
// runs on every readiness probe, concurrently with the other checks and
// bounded by health.DefaultCheckTimeout, so it should be cheap. Liveness
// and gRPC health do not run the checks: a database outage is no reason to
// restart the service, and gRPC health reports the App's lifecycle only.
func HealthCheck(name string, fn func(ctx context.Context) error) Option {
	return func(o *options) { o.checks = append(o.checks, health.Check{Name: name, Func: fn}) }
}
