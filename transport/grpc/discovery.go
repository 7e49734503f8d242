package grpc

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
)

// discoveryScheme is the target scheme resolved through a
// registry.Discovery: discovery:///service-name.
const discoveryScheme = "discovery"

// balancerName is the name of the gRPC load-balancing policy that hands
// every pick to the connection's selector.Picker.
const balancerName = "zelos_selector"

func init() {
	// Balancer builders live in grpc-go's process-wide registry, like codecs.
	// The builder holds no state: each connection's selector comes with its
	// addresses.
	balancer.Register(balancerBuilder{})
}

// discoveryOptions returns the dial options resolving discovery:///name
// through the registry and balancing with the selector.
func discoveryOptions(name string, o *clientOptions) ([]ggrpc.DialOption, error) {
	sl := o.selector
	disco := o.discovery
	if disco == nil && sl != nil {
		disco = sl.Discovery()
	}
	if disco == nil {
		return nil, fmt.Errorf("transport/grpc: dial %q: a discovery:/// endpoint needs WithDiscovery or a selector with a registry", o.endpoint)
	}
	if name == "" {
		return nil, fmt.Errorf("transport/grpc: dial %q: no service name", o.endpoint)
	}
	if sl == nil {
		sl = selector.NewSelector(selector.Registry(disco))
	}
	cfg := &pickConfig{service: name, picker: sl.Build()}
	if len(o.filters) > 0 {
		cfg.selectOpts = []selector.SelectOption{selector.WithNodeFilter(o.filters...)}
	}
	sc := `{"loadBalancingConfig":[{"` + balancerName + `":{}}]`
	if o.healthCheck {
		sc += `,"healthCheckConfig":{"serviceName":""}`
	}
	sc += `}`
	return []ggrpc.DialOption{
		ggrpc.WithResolvers(&resolverBuilder{disco: disco, logger: o.logger, cfg: cfg}),
		ggrpc.WithDefaultServiceConfig(sc),
	}, nil
}

// pickConfig is a connection's selection state, carried to the balancer in
// the attributes of every resolver state.
type pickConfig struct {
	service    string          // the service name of the target
	picker     selector.Picker // built once per connection; Apply keeps node statistics
	selectOpts []selector.SelectOption
}

type (
	configKey   struct{}
	instanceKey struct{}
)

// instanceAttr is the registry instance an address belongs to. Addresses
// compare equal while the instance's content is unchanged, so a watch
// update that repeats an instance keeps its connection.
type instanceAttr struct {
	ins *registry.ServiceInstance
}

// Equal implements the comparison grpc-go's attributes use.
func (a instanceAttr) Equal(o any) bool {
	b, ok := o.(instanceAttr)
	if !ok {
		return false
	}
	x, y := a.ins, b.ins
	return x.ID == y.ID && x.Name == y.Name && x.Version == y.Version &&
		maps.Equal(x.Metadata, y.Metadata) && slices.Equal(x.Endpoints, y.Endpoints)
}

// resolverBuilder resolves discovery:///name targets of one connection.
type resolverBuilder struct {
	disco  registry.Discovery
	logger log.Logger
	cfg    *pickConfig
}

func (b *resolverBuilder) Scheme() string { return discoveryScheme }

func (b *resolverBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	name := strings.TrimPrefix(target.URL.Path, "/")
	if name == "" {
		name = target.URL.Host
	}
	if name == "" {
		return nil, fmt.Errorf("transport/grpc: target %q names no service", target.URL.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &discoveryResolver{b: b, name: name, cc: cc, ctx: ctx, cancel: cancel, attrs: attributes.New(configKey{}, b.cfg)}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

// discoveryResolver pushes the grpc:// endpoints of a service's instances to
// the connection, following a registry watch.
type discoveryResolver struct {
	b      *resolverBuilder
	name   string
	cc     resolver.ClientConn
	attrs  *attributes.Attributes // of every state: the pickConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (r *discoveryResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the watch and waits for the watching goroutine.
func (r *discoveryResolver) Close() {
	r.cancel()
	r.wg.Wait()
}

// run follows the service's watch until Close, with the watch loop of every
// client (registry.Follow). When watching fails, the error is reported to
// the connection (which keeps the last addresses) and the watch restarted
// with backoff.
func (r *discoveryResolver) run() {
	defer r.wg.Done()
	update := func(list []*registry.ServiceInstance) {
		// An error means the balancer got no address; it then reports no
		// node to calls, and the next update recovers.
		_ = r.cc.UpdateState(resolver.State{Addresses: addresses(list), Attributes: r.attrs})
	}
	onError := func(err error, retryIn time.Duration) bool {
		_ = r.b.logger.Log(log.LevelError, "msg", "transport/grpc: discovery watch failed, watching again", "service", r.name, "retry_in", retryIn.String(), "error", err)
		// A status error: grpc-go may hand it to calls as it is.
		r.cc.ReportError(noNodeError(r.name, fmt.Errorf("watching the registry: %v", err)))
		return true
	}
	_ = registry.Follow(r.ctx, r.b.disco, r.name, update, registry.OnWatchError(onError))
}

// addresses returns an address per grpc:// endpoint of the instances.
func addresses(list []*registry.ServiceInstance) []resolver.Address {
	addrs := make([]resolver.Address, 0, len(list))
	for _, ins := range list {
		if ins == nil {
			continue
		}
		for _, ep := range ins.Endpoints {
			u, err := url.Parse(ep)
			if err != nil || u.Scheme != "grpc" || u.Host == "" {
				continue
			}
			attrs := attributes.New(instanceKey{}, instanceAttr{ins})
			addrs = append(addrs, resolver.Address{Addr: u.Host, Attributes: attrs})
		}
	}
	return addrs
}

// balancerBuilder builds the balancer of discovery connections.
type balancerBuilder struct{}

func (balancerBuilder) Name() string { return balancerName }

func (balancerBuilder) Build(cc balancer.ClientConn, _ balancer.BuildOptions) balancer.Balancer {
	return &discoveryBalancer{cc: cc, subConns: make(map[string]*subConn)}
}

// discoveryBalancer keeps one SubConn per address (shut down when its
// address goes away) and publishes pickers over the READY ones that hand
// every pick to the connection's selector.Picker. grpc-go calls balancers
// from one goroutine at a time, so it needs no lock.
type discoveryBalancer struct {
	cc       balancer.ClientConn
	cfg      *pickConfig
	subConns map[string]*subConn // by address
	lastErr  error               // the last connection or resolver error
}

// subConn is a SubConn and what the balancer knows of it.
type subConn struct {
	sc     balancer.SubConn
	addr   resolver.Address
	node   selector.Node
	state  connectivity.State
	failed bool // in TRANSIENT_FAILURE, until READY again
}

func (b *discoveryBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	if cfg, ok := s.ResolverState.Attributes.Value(configKey{}).(*pickConfig); ok {
		b.cfg = cfg
	}
	var newErr error
	seen := make(map[string]bool, len(s.ResolverState.Addresses))
	for _, a := range s.ResolverState.Addresses {
		ia, _ := a.Attributes.Value(instanceKey{}).(instanceAttr)
		if b.cfg == nil || ia.ins == nil || seen[a.Addr] {
			continue
		}
		seen[a.Addr] = true
		if c, ok := b.subConns[a.Addr]; ok {
			if !c.addr.Attributes.Equal(a.Attributes) {
				// Same endpoint, new instance data (weight, version...):
				// keep the connection, update the node.
				c.addr = a
				c.node = selector.NewNode("grpc", a.Addr, ia.ins)
			}
			continue
		}
		c := &subConn{addr: a, node: selector.NewNode("grpc", a.Addr, ia.ins), state: connectivity.Idle}
		sc, err := b.cc.NewSubConn([]resolver.Address{a}, balancer.NewSubConnOptions{
			HealthCheckEnabled: true,
			StateListener:      func(st balancer.SubConnState) { b.updateSubConnState(c, st) },
		})
		if err != nil {
			newErr = fmt.Errorf("connect to %s: %w", a.Addr, err)
			continue
		}
		c.sc = sc
		b.subConns[a.Addr] = c
		sc.Connect()
	}
	for addr, c := range b.subConns {
		if !seen[addr] {
			c.sc.Shutdown()
			delete(b.subConns, addr)
		}
	}
	if newErr != nil || len(b.subConns) == 0 {
		// With no SubConn left, the errors of those just shut down are not
		// why calls fail.
		b.lastErr = newErr
	}
	b.publish()
	if len(b.subConns) == 0 {
		// Asks grpc-go to resolve again; the resolver follows its watch.
		return balancer.ErrBadResolverState
	}
	return nil
}

func (b *discoveryBalancer) ResolverError(err error) {
	b.lastErr = err
	if len(b.subConns) == 0 {
		b.publish()
	}
}

// UpdateSubConnState is not used: every SubConn has a StateListener.
func (b *discoveryBalancer) UpdateSubConnState(balancer.SubConn, balancer.SubConnState) {}

func (b *discoveryBalancer) updateSubConnState(c *subConn, st balancer.SubConnState) {
	if cur, ok := b.subConns[c.addr.Addr]; !ok || cur != c {
		return // shut down
	}
	switch st.ConnectivityState {
	case connectivity.Idle:
		c.sc.Connect()
	case connectivity.Ready:
		c.failed = false
	case connectivity.TransientFailure:
		c.failed = true
		b.lastErr = st.ConnectionError
	}
	c.state = st.ConnectivityState
	b.publish()
}

func (b *discoveryBalancer) ExitIdle() {
	for _, c := range b.subConns {
		if c.state == connectivity.Idle {
			c.sc.Connect()
		}
	}
}

func (b *discoveryBalancer) Close() {
	for addr, c := range b.subConns {
		c.sc.Shutdown()
		delete(b.subConns, addr)
	}
}

// publish hands grpc-go the state and picker of the current SubConns. A
// SubConn still connecting for the first time (or reconnecting after being
// ready) is pending: while one is, calls finding no node wait instead of
// failing.
func (b *discoveryBalancer) publish() {
	var ready []selector.Node
	var subConns map[string]balancer.SubConn
	pending := false
	for addr, c := range b.subConns {
		switch {
		case c.state == connectivity.Ready:
			if subConns == nil {
				subConns = make(map[string]balancer.SubConn, len(b.subConns))
			}
			ready = append(ready, c.node)
			subConns[addr] = c.sc
		case !c.failed:
			pending = true
		}
	}
	switch {
	case len(ready) > 0:
		// Sorted, so that balancers depending on order (round robin) see the
		// same order on every update.
		slices.SortFunc(ready, func(x, y selector.Node) int { return strings.Compare(x.Address(), y.Address()) })
		b.cfg.picker.Apply(ready)
		b.cc.UpdateState(balancer.State{
			ConnectivityState: connectivity.Ready,
			Picker:            &picker{cfg: b.cfg, subConns: subConns, pending: pending},
		})
	case pending:
		b.cc.UpdateState(balancer.State{
			ConnectivityState: connectivity.Connecting,
			Picker:            base.NewErrPicker(balancer.ErrNoSubConnAvailable),
		})
	default:
		err := b.lastErr
		if _, ok := status.FromError(err); !ok || err == nil {
			service := ""
			if b.cfg != nil {
				service = b.cfg.service
			}
			err = noNodeError(service, err)
		}
		b.cc.UpdateState(balancer.State{
			ConnectivityState: connectivity.TransientFailure,
			Picker:            base.NewErrPicker(err),
		})
	}
}

// noNodeError is the status error of calls finding no instance of service
// to go to: 503 NO_AVAILABLE_NODE.
func noNodeError(service string, cause error) error {
	msg := fmt.Sprintf("no instance of service %q is available", service)
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return errors.ServiceUnavailable(selector.ReasonNoAvailableNode, msg).GRPCStatus().Err()
}

// picker hands one pick to the selector.
type picker struct {
	cfg      *pickConfig
	subConns map[string]balancer.SubConn
	pending  bool // some SubConns are still connecting
}

func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	n, done, err := p.cfg.picker.Select(info.Ctx, p.cfg.selectOpts...)
	if err != nil {
		if p.pending {
			// A node still connecting may match: wait for the next picker.
			return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
		}
		return balancer.PickResult{}, errors.FromError(err).GRPCStatus().Err()
	}
	sc, ok := p.subConns[n.Address()]
	if !ok {
		// The selector already has the nodes of a newer picker; grpc-go
		// retries with it.
		done(info.Ctx, selector.DoneInfo{Abandoned: true})
		return balancer.PickResult{}, balancer.ErrNoSubConnAvailable
	}
	ctx := info.Ctx
	return balancer.PickResult{
		SubConn: sc,
		Done: func(di balancer.DoneInfo) {
			done(ctx, selector.DoneInfo{
				Err:           di.Err,
				ReplyMD:       replyMD(di.Trailer),
				BytesSent:     di.BytesSent,
				BytesReceived: di.BytesReceived,
			})
		},
	}, nil
}

// replyMD is a selector.ReplyMD over gRPC trailers.
type replyMD metadata.MD

func (m replyMD) Get(key string) string {
	if vs := metadata.MD(m).Get(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}
