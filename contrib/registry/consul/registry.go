// Package consul is a registry.Registrar and registry.Discovery backed by
// Consul.
//
// Instances are registered with the local Consul agent
// (/v1/agent/service/register) and discovered through the health endpoint
// (/v1/health/service/:name?passing=1), so only instances whose checks all
// pass are returned. Watchers use Consul's blocking queries.
//
// An instance maps to a Consul service as follows:
//
//   - ID and Name are the service's ID and Name.
//   - Metadata is the service's Meta, plus the reserved keys
//     "zelos_version" (Version) and "zelos_endpoints" (Endpoints joined with
//     commas). Consul limits Meta keys to letters, digits, '-' and '_' and
//     values to 512 characters.
//   - The first endpoint's host and port are the service's Address and Port,
//     and each endpoint's host and port are in TaggedAddresses under its
//     scheme (such as "grpc" or "http"), for Consul's DNS and other tools.
//
// By default each instance has a TTL check that the Registry marks passing
// in the background, so an instance whose process dies goes critical and
// drops out of discovery once its TTL runs out.
package consul

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

var (
	_ registry.Registrar = (*Registry)(nil)
	_ registry.Discovery = (*Registry)(nil)
)

// Reserved Meta keys.
const (
	metaVersion   = "zelos_version"
	metaEndpoints = "zelos_endpoints"
)

// Option configures a Registry.
type Option func(*options)

type options struct {
	ctx             context.Context
	healthCheck     bool
	ttl             time.Duration
	httpPath        string
	httpInterval    time.Duration
	deregisterAfter time.Duration
	datacenter      string
	watchWait       time.Duration
	logger          log.Logger
}

// WithHealthCheck turns the instances' health checks on or off. Without
// checks an instance is passing for as long as it is registered. The
// default is on.
func WithHealthCheck(enable bool) Option {
	return func(o *options) { o.healthCheck = enable }
}

// WithTTL sets the TTL of the instances' TTL check; the Registry marks the
// check passing every third of it. A process that stops doing so (it died)
// goes critical after the TTL. d <= 0 removes the TTL check. The default is
// 15s.
func WithTTL(d time.Duration) Option {
	return func(o *options) { o.ttl = max(d, 0) }
}

// WithHTTPCheck adds an HTTP check: the Consul agent requests path on the
// instance's first http or https endpoint every interval, and the check
// passes on a 2xx response. Register fails for an instance without such an
// endpoint.
func WithHTTPCheck(path string, interval time.Duration) Option {
	return func(o *options) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		o.httpPath, o.httpInterval = path, interval
	}
}

// WithDeregisterCriticalServiceAfter makes Consul deregister an instance
// whose checks have been critical for d, such as one whose process died.
// Consul does this at a granularity of about 30s, with a minimum of one
// minute. d <= 0 never deregisters. The default is 10 minutes.
func WithDeregisterCriticalServiceAfter(d time.Duration) Option {
	return func(o *options) { o.deregisterAfter = max(d, 0) }
}

// WithDatacenter sets the datacenter that GetService and Watch query. The
// default is the agent's. Registration always goes to the agent's own
// datacenter.
func WithDatacenter(dc string) Option {
	return func(o *options) { o.datacenter = dc }
}

// WithWatchWait sets how long one blocking query of a watcher waits for a
// change before Consul answers anyway; the watcher then asks again. The
// default is 55s; Consul caps it at 10 minutes.
func WithWatchWait(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.watchWait = d
		}
	}
}

// WithContext sets the context of the background goroutines that mark the
// instances' TTL checks passing: once it is done they stop, without
// deregistering, and the instances go critical after their TTL. The default
// never ends.
func WithContext(ctx context.Context) Option {
	return func(o *options) { o.ctx = ctx }
}

// WithLogger sets the logger of failures in background goroutines, such as
// a failed TTL update. By default nothing is logged.
func WithLogger(l log.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Registry registers and discovers service instances in Consul. It is safe
// for concurrent use; Register and Deregister calls run one at a time.
type Registry struct {
	client *api.Client
	opts   options

	// sem, a lock that honours contexts, serializes Register and
	// Deregister, so that the agent's services and the heartbeats agree
	// even when they race; it guards beats.
	sem   chan struct{}
	beats map[string]*heartbeat // by instance ID
}

// New returns a Registry that uses client.
func New(client *api.Client, opts ...Option) *Registry {
	o := options{
		ctx:             context.Background(),
		healthCheck:     true,
		ttl:             15 * time.Second,
		deregisterAfter: 10 * time.Minute,
		watchWait:       55 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return &Registry{client: client, opts: o, sem: make(chan struct{}, 1), beats: make(map[string]*heartbeat)}
}

// lock takes r.sem, or fails when ctx is done first.
func (r *Registry) lock(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Registry) unlock() { <-r.sem }

// stopHeartbeat stops the heartbeat of an instance, if it has one. The
// caller holds r.sem.
func (r *Registry) stopHeartbeat(id string) {
	if h := r.beats[id]; h != nil {
		delete(r.beats, id)
		h.cancel()
		<-h.done
	}
}

// heartbeat is the goroutine that keeps one instance's TTL check passing.
type heartbeat struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine returns
}

func ttlCheckID(id string) string  { return "service:" + id + ":ttl" }
func httpCheckID(id string) string { return "service:" + id + ":http" }

// Register registers service with the Consul agent, replacing a service of
// the same ID, and starts marking its TTL check passing.
func (r *Registry) Register(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("register", service); err != nil {
		return err
	}
	reg, err := r.registration(service)
	if err != nil {
		return fmt.Errorf("consul: register %q (id %q): %w", service.Name, service.ID, err)
	}
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("consul: register %q (id %q): %w", service.Name, service.ID, err)
	}
	defer r.unlock()
	r.stopHeartbeat(service.ID)
	if err := r.register(ctx, reg); err != nil {
		return fmt.Errorf("consul: register %q (id %q): %w", service.Name, service.ID, err)
	}
	if !r.opts.healthCheck || r.opts.ttl <= 0 {
		return nil
	}
	hctx, cancel := context.WithCancel(r.opts.ctx)
	h := &heartbeat{cancel: cancel, done: make(chan struct{})}
	r.beats[service.ID] = h
	go r.heartbeat(hctx, h, reg)
	return nil
}

func (r *Registry) register(ctx context.Context, reg *api.AgentServiceRegistration) error {
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	return r.client.Agent().ServiceRegisterOpts(reg, opts)
}

// registration maps an instance to a Consul service registration.
func (r *Registry) registration(s *registry.ServiceInstance) (*api.AgentServiceRegistration, error) {
	meta := make(map[string]string, len(s.Metadata)+2)
	for k, v := range s.Metadata {
		if k == metaVersion || k == metaEndpoints {
			return nil, fmt.Errorf("metadata key %q is reserved", k)
		}
		if !metaKey.MatchString(k) {
			return nil, fmt.Errorf("metadata key %q: Consul allows only letters, digits, '-' and '_'", k)
		}
		meta[k] = v
	}
	if s.Version != "" {
		meta[metaVersion] = s.Version
	}
	reg := &api.AgentServiceRegistration{ID: s.ID, Name: s.Name, Meta: meta}
	var httpBase string
	for i, e := range s.Endpoints {
		if strings.Contains(e, ",") {
			return nil, fmt.Errorf("endpoint %q: must not contain ','", e)
		}
		u, err := url.Parse(e)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q: not a URL of the form scheme://host:port", e)
		}
		host, port := u.Hostname(), 0
		if p := u.Port(); p != "" {
			if port, err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("endpoint %q: bad port %q", e, p)
			}
		}
		if i == 0 {
			reg.Address, reg.Port = host, port
		}
		if reg.TaggedAddresses == nil {
			reg.TaggedAddresses = make(map[string]api.ServiceAddress)
		}
		if _, ok := reg.TaggedAddresses[u.Scheme]; !ok {
			reg.TaggedAddresses[u.Scheme] = api.ServiceAddress{Address: host, Port: port}
		}
		if httpBase == "" && (u.Scheme == "http" || u.Scheme == "https") {
			httpBase = u.Scheme + "://" + u.Host
		}
	}
	if len(s.Endpoints) > 0 {
		meta[metaEndpoints] = strings.Join(s.Endpoints, ",")
		if n := len(meta[metaEndpoints]); n > 512 {
			return nil, fmt.Errorf("endpoints take %d characters, more than the 512 of a Consul Meta value", n)
		}
	}
	if !r.opts.healthCheck {
		return reg, nil
	}
	var deregister string
	if r.opts.deregisterAfter > 0 {
		deregister = r.opts.deregisterAfter.String()
	}
	if r.opts.ttl > 0 {
		reg.Checks = append(reg.Checks, &api.AgentServiceCheck{
			CheckID:                        ttlCheckID(s.ID),
			Name:                           "zelos TTL heartbeat",
			TTL:                            r.opts.ttl.String(),
			Status:                         api.HealthPassing,
			DeregisterCriticalServiceAfter: deregister,
		})
	}
	if r.opts.httpPath != "" {
		if httpBase == "" {
			return nil, fmt.Errorf("HTTP check %q needs an http:// or https:// endpoint, have %q", r.opts.httpPath, s.Endpoints)
		}
		interval := r.opts.httpInterval
		if interval <= 0 {
			interval = 10 * time.Second
		}
		reg.Checks = append(reg.Checks, &api.AgentServiceCheck{
			CheckID:                        httpCheckID(s.ID),
			Name:                           "zelos HTTP " + r.opts.httpPath,
			HTTP:                           httpBase + r.opts.httpPath,
			Interval:                       interval.String(),
			Timeout:                        min(interval, 5*time.Second).String(),
			DeregisterCriticalServiceAfter: deregister,
		})
	}
	return reg, nil
}

var metaKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// heartbeat marks the TTL check passing every third of the TTL. If the
// agent no longer knows the check (it restarted or lost the service), it
// registers the service again; while that fails (the agent is down) it
// tries again sooner, with the backoff of every registry loop capped at the
// heartbeat interval, so the instance is back soon after the agent.
func (r *Registry) heartbeat(ctx context.Context, h *heartbeat, reg *api.AgentServiceRegistration) {
	defer close(h.done)
	defer h.cancel()
	checkID := ttlCheckID(reg.ID)
	interval := max(r.opts.ttl/3, time.Millisecond)
	policy := backoff.Reconnect()
	policy.Max = min(policy.Max, interval)
	b := policy.Start()
	for wait := interval; ; {
		if backoff.Sleep(ctx, nil, wait) != nil {
			return
		}
		wait = interval
		rctx, cancel := context.WithTimeout(ctx, r.opts.ttl)
		err := r.client.Agent().UpdateTTLOpts(checkID, "", api.HealthPassing, (&api.QueryOptions{}).WithContext(rctx))
		if err != nil && ctx.Err() == nil {
			r.log(log.LevelWarn, "msg", "consul: TTL update failed, registering again", "service", reg.Name, "id", reg.ID, "error", err)
			err = r.register(rctx, reg)
			if err != nil && ctx.Err() == nil {
				wait = b.Next()
				r.log(log.LevelWarn, "msg", "consul: register again failed", "service", reg.Name, "id", reg.ID, "retry_in", wait.String(), "error", err)
			}
		}
		if err == nil {
			b.Reset()
		}
		cancel()
	}
}

func (r *Registry) log(level log.Level, keyvals ...any) {
	if r.opts.logger != nil {
		_ = r.opts.logger.Log(level, keyvals...)
	}
}

// Deregister stops marking the instance's TTL check passing and
// deregisters it from the Consul agent. Deregistering an unknown instance
// is not an error.
func (r *Registry) Deregister(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("deregister", service); err != nil {
		return err
	}
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("consul: deregister %q (id %q): %w", service.Name, service.ID, err)
	}
	defer r.unlock()
	r.stopHeartbeat(service.ID)
	err := r.client.Agent().ServiceDeregisterOpts(service.ID, (&api.QueryOptions{}).WithContext(ctx))
	var se api.StatusError
	if errors.As(err, &se) && se.Code == 404 {
		err = nil // not registered
	}
	if err != nil {
		return fmt.Errorf("consul: deregister %q (id %q): %w", service.Name, service.ID, err)
	}
	return nil
}

// GetService returns the instances of a service whose checks all pass,
// sorted by ID.
func (r *Registry) GetService(ctx context.Context, serviceName string) ([]*registry.ServiceInstance, error) {
	list, _, err := r.query(ctx, serviceName, 0)
	if err != nil {
		return nil, fmt.Errorf("consul: get service %q: %w", serviceName, err)
	}
	return list, nil
}

// query reads the passing instances of a service. With index > 0 it is a
// blocking query that waits until Consul's index passes index or the watch
// wait elapses.
func (r *Registry) query(ctx context.Context, name string, index uint64) ([]*registry.ServiceInstance, uint64, error) {
	q := &api.QueryOptions{Datacenter: r.opts.datacenter, WaitIndex: index}
	if index > 0 {
		q.WaitTime = r.opts.watchWait
	}
	entries, meta, err := r.client.Health().Service(name, "", true, q.WithContext(ctx))
	if err != nil {
		return nil, 0, err
	}
	out := make([]*registry.ServiceInstance, 0, len(entries))
	for _, e := range entries {
		if e.Service != nil {
			out = append(out, instance(e.Service))
		}
	}
	slices.SortFunc(out, func(a, b *registry.ServiceInstance) int { return strings.Compare(a.ID, b.ID) })
	return out, meta.LastIndex, nil
}

// instance maps a Consul service back to an instance. For services
// registered by other tools, without the reserved Meta keys, the endpoints
// are built from TaggedAddresses keyed by scheme.
func instance(s *api.AgentService) *registry.ServiceInstance {
	in := &registry.ServiceInstance{ID: s.ID, Name: s.Service, Metadata: make(map[string]string, len(s.Meta))}
	for k, v := range s.Meta {
		switch k {
		case metaVersion:
			in.Version = v
		case metaEndpoints:
			if v != "" {
				in.Endpoints = strings.Split(v, ",")
			}
		default:
			in.Metadata[k] = v
		}
	}
	if _, ok := s.Meta[metaEndpoints]; !ok {
		for _, scheme := range slices.Sorted(maps.Keys(s.TaggedAddresses)) {
			if strings.HasPrefix(scheme, "lan") || strings.HasPrefix(scheme, "wan") {
				continue // Consul's own network addresses
			}
			a := s.TaggedAddresses[scheme]
			in.Endpoints = append(in.Endpoints, scheme+"://"+net.JoinHostPort(a.Address, strconv.Itoa(a.Port)))
		}
	}
	return in
}

func validate(op string, s *registry.ServiceInstance) error {
	switch {
	case s == nil:
		return fmt.Errorf("consul: %s: nil service instance", op)
	case s.Name == "":
		return fmt.Errorf("consul: %s: instance %q has no name", op, s.ID)
	case s.ID == "":
		return fmt.Errorf("consul: %s: instance of %q has no ID", op, s.Name)
	}
	return nil
}
