package gateway

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	ggrpc "google.golang.org/grpc"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
)

// pool is the set of instances behind one endpoint's backends, kept up to
// date from the registry, and the picker that balances over them. Pools are
// shared by endpoints with the same backends, balancer and protocol, and
// survive reloads that keep them, so their connections and balancer
// statistics are reused.
type pool struct {
	key      string
	service  string // the name errors use: the backends' service names, or the fixed hosts
	scheme   string // endpoint scheme of the nodes: http or grpc
	picker   selector.Picker
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	ready    chan struct{} // closed once every discovery target reported
	readyOne sync.Once

	mu      sync.Mutex
	targets []poolTarget
	onApply func([]*registry.ServiceInstance) // for transcode pools: the private registry

	refs    int               // endpoints of live tables using the pool; guarded by pools.mu
	conn    *ggrpc.ClientConn // the gRPC connection of a transcode pool; guarded by mu
	closers []func()          // run when the pool closes, such as a gRPC connection's Close; guarded by mu
}

type poolTarget struct {
	service string // discovered service, or ""
	weight  int64
	got     bool
	current []*registry.ServiceInstance
}

// poolKey identifies a pool: protocol class, balancer and backends.
func poolKey(scheme, balancer string, backends []Backend) string {
	var b strings.Builder
	b.WriteString(scheme + "|" + balancer)
	for _, be := range backends {
		b.WriteString("|" + be.Target + "#" + strconv.FormatInt(be.Weight, 10))
	}
	return b.String()
}

// newPool starts following the backends' services in d.
func newPool(key, scheme, balancer string, backends []Backend, d registry.Discovery, logger log.Logger) (*pool, error) {
	if balancer == "" {
		balancer = "p2c"
	}
	p := &pool{key: key, scheme: scheme, ready: make(chan struct{})}
	p.picker = selector.NewSelector(selector.Balancer(balancer)).Build()
	var names []string
	waiting := 0
	for i, b := range backends {
		service, fixed, err := parseTarget(b.Target)
		if err != nil {
			return nil, err
		}
		t := poolTarget{service: service, weight: b.Weight}
		if fixed != nil {
			ins := &registry.ServiceInstance{
				ID: fmt.Sprintf("%s#%d", b.Target, i), Name: fixed.Host,
				Endpoints: []string{scheme + "://" + fixed.Host},
			}
			if b.Weight > 0 {
				ins.Metadata = map[string]string{selector.WeightKey: strconv.FormatInt(b.Weight, 10)}
			}
			t.got, t.current = true, []*registry.ServiceInstance{ins}
			names = append(names, fixed.Host)
		} else {
			if d == nil {
				return nil, fmt.Errorf("gateway: backend %q needs a registry (WithDiscovery, or registry: in the config)", b.Target)
			}
			names = append(names, service)
			waiting++
		}
		p.targets = append(p.targets, t)
	}
	p.service = strings.Join(names, ",")
	if waiting == 0 {
		p.readyOne.Do(func() { close(p.ready) })
	}
	p.apply()
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for i := range p.targets {
		if p.targets[i].service == "" {
			continue
		}
		p.wg.Add(1)
		go func(i int) {
			defer p.wg.Done()
			_ = registry.Follow(ctx, d, p.targets[i].service, func(ins []*registry.ServiceInstance) { p.update(i, ins) },
				registry.OnWatchError(func(err error, retryIn time.Duration) bool {
					_ = logger.Log(log.LevelWarn, "msg", "gateway: watching backend failed", "service", p.targets[i].service, "error", err, "retry_in", retryIn)
					return true
				}))
		}(i)
	}
	return p, nil
}

// update records the instances of target i and rebuilds the node set.
func (p *pool) update(i int, ins []*registry.ServiceInstance) {
	p.mu.Lock()
	t := &p.targets[i]
	t.got = true
	t.current = ins
	if t.weight > 0 {
		// A backend weight applies to the instances that carry none.
		t.current = make([]*registry.ServiceInstance, 0, len(ins))
		for _, in := range ins {
			if in == nil {
				continue
			}
			if _, ok := in.Metadata[selector.WeightKey]; !ok {
				c := *in
				c.Metadata = maps.Clone(in.Metadata)
				if c.Metadata == nil {
					c.Metadata = map[string]string{}
				}
				c.Metadata[selector.WeightKey] = strconv.FormatInt(t.weight, 10)
				in = &c
			}
			t.current = append(t.current, in)
		}
	}
	all := true
	for _, t := range p.targets {
		all = all && t.got
	}
	p.mu.Unlock()
	p.apply()
	if all {
		p.readyOne.Do(func() { close(p.ready) })
	}
}

// apply feeds the union of the targets' instances to the picker, and to
// onApply.
func (p *pool) apply() {
	ins := p.instances()
	p.mu.Lock()
	onApply := p.onApply
	p.mu.Unlock()
	p.picker.Apply(selector.NodesFromInstances(p.scheme, ins))
	if onApply != nil {
		onApply(ins)
	}
}

// instances returns the union of the targets' instances.
func (p *pool) instances() []*registry.ServiceInstance {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ins []*registry.ServiceInstance
	for _, t := range p.targets {
		ins = append(ins, t.current...)
	}
	return ins
}

// wait blocks until every discovered target reported once, or ctx ends,
// or a short while passed: a request that comes in right at start-up
// waits for the registry rather than failing.
func (p *pool) wait(ctx context.Context) {
	select {
	case <-p.ready:
		return
	default:
	}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-p.ready:
	case <-ctx.Done():
	case <-t.C:
	}
}

// close stops following the registry and closes the pool's connections.
func (p *pool) close() {
	p.cancel()
	p.wg.Wait()
	p.mu.Lock()
	fs := p.closers
	p.closers = nil
	p.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// pools holds the live pools by key.
type pools struct {
	mu     sync.Mutex
	byKey  map[string]*pool
	disco  registry.Discovery
	logger log.Logger
}

// acquire returns the pool for key, creating it if needed, and counts the
// reference.
func (ps *pools) acquire(key, scheme, balancer string, backends []Backend) (*pool, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.byKey[key]; ok {
		p.refs++
		return p, nil
	}
	p, err := newPool(key, scheme, balancer, backends, ps.disco, ps.logger)
	if err != nil {
		return nil, err
	}
	p.refs = 1
	ps.byKey[key] = p
	return p, nil
}

// release drops references; pools no longer used are closed.
func (ps *pools) release(list []*pool) {
	ps.mu.Lock()
	var dead []*pool
	for _, p := range list {
		p.refs--
		if p.refs == 0 {
			delete(ps.byKey, p.key)
			dead = append(dead, p)
		}
	}
	ps.mu.Unlock()
	for _, p := range dead {
		p.close()
	}
}
