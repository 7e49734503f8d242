// Package etcd is a registry.Registrar and registry.Discovery backed by etcd.
//
// Each instance is stored under the key <namespace>/<service name>/<instance
// ID> as the JSON of its registry.ServiceInstance, attached to a lease that
// the Registry keeps alive. When the lease is lost (it expired while etcd was
// unreachable, etcd lost it, or the keep-alive stream broke for longer than
// the TTL), a background goroutine grants a new lease and writes the instance
// again, retrying with backoff until it succeeds, the instance is
// deregistered, the Context option's context is done or the client is closed.
//
// An instance whose process dies without deregistering disappears once its
// lease expires, at most the TTL after its last keep-alive.
package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var (
	_ registry.Registrar = (*Registry)(nil)
	_ registry.Discovery = (*Registry)(nil)
)

// Option configures a Registry.
type Option func(*options)

type options struct {
	ctx       context.Context
	namespace string
	ttl       time.Duration
	maxRetry  int
	logger    log.Logger
}

// Namespace sets the key prefix under which instances are stored. The
// default is "/microservices"; a trailing slash is removed.
func Namespace(ns string) Option {
	return func(o *options) { o.namespace = strings.TrimRight(ns, "/") }
}

// RegisterTTL sets the TTL of the lease each instance is registered under,
// the longest a dead instance stays visible. etcd leases have whole seconds,
// so d is rounded up to a second; the etcd server also enforces a minimum
// TTL (1.5 times its election timeout, 1.5s by default). The default is 15s.
func RegisterTTL(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.ttl = d
		}
	}
}

// MaxRetry limits how many consecutive times the background goroutine tries
// to register an instance again after its lease was lost. After n failed
// attempts it gives up and the instance stays unregistered until Register
// is called again. The default, 0, retries until the instance is
// deregistered.
func MaxRetry(n int) Option {
	return func(o *options) { o.maxRetry = max(n, 0) }
}

// Context sets the context of the background goroutines that keep
// registrations alive: once it is done they stop, without deregistering,
// and the leases expire after their TTL. The default never ends; closing
// the etcd client also stops them.
func Context(ctx context.Context) Option {
	return func(o *options) { o.ctx = ctx }
}

// Logger sets the logger of failures in the background goroutines, such as
// a lost lease or a failed attempt to register again. By default nothing is
// logged.
func Logger(l log.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Registry registers and discovers service instances in etcd. It is safe
// for concurrent use; Register and Deregister calls run one at a time.
type Registry struct {
	client *clientv3.Client
	opts   options

	// sem, a lock that honours contexts, serializes Register and
	// Deregister, so that the keys in etcd and the goroutines keeping them
	// alive agree even when they race; it guards regs.
	sem  chan struct{}
	regs map[string]*registration // by key
}

// New returns a Registry that uses client. The caller keeps ownership of the
// client and closes it after the Registry is no longer used.
func New(client *clientv3.Client, opts ...Option) *Registry {
	o := options{
		ctx:       context.Background(),
		namespace: "/microservices",
		ttl:       15 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return &Registry{client: client, opts: o, sem: make(chan struct{}, 1), regs: make(map[string]*registration)}
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

// stopKeepAlive ends the goroutine keeping key alive, if there is one, and
// returns its registration. The caller holds r.sem.
func (r *Registry) stopKeepAlive(key string) *registration {
	g := r.regs[key]
	if g != nil {
		delete(r.regs, key)
		g.cancel()
		<-g.done
	}
	return g
}

// registration is one instance kept alive by a goroutine running keepAlive.
type registration struct {
	key, value string
	lease      atomic.Int64 // current clientv3.LeaseID
	cancel     context.CancelFunc
	done       chan struct{} // closed when the goroutine returns
}

func (r *Registry) key(name, id string) string {
	return r.opts.namespace + "/" + name + "/" + id
}

func (r *Registry) prefix(name string) string {
	return r.opts.namespace + "/" + name + "/"
}

// Register writes service under a new lease and keeps it registered until
// Deregister: a lost lease is replaced in the background. Registering the
// same name and ID again replaces the stored instance.
func (r *Registry) Register(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("register", service); err != nil {
		return err
	}
	value, err := json.Marshal(service)
	if err != nil {
		return fmt.Errorf("etcd: register %q (id %q): %w", service.Name, service.ID, err)
	}
	g := &registration{key: r.key(service.Name, service.ID), value: string(value), done: make(chan struct{})}
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("etcd: register %q (id %q) at %s: %w", service.Name, service.ID, g.key, err)
	}
	defer r.unlock()
	old := r.stopKeepAlive(g.key)

	lease, err := r.put(ctx, g.key, g.value, 0)
	if err != nil {
		return fmt.Errorf("etcd: register %q (id %q) at %s: %w", service.Name, service.ID, g.key, err)
	}
	if old != nil {
		// The key is attached to the new lease now: revoking the old one only
		// frees it.
		r.revoke(ctx, clientv3.LeaseID(old.lease.Load()))
	}
	g.lease.Store(int64(lease))

	loopCtx, cancel := context.WithCancel(r.opts.ctx)
	g.cancel = cancel
	r.regs[g.key] = g
	go r.keepAlive(loopCtx, g)
	return nil
}

// Deregister stops keeping service alive, deletes its key and revokes its
// lease. If etcd cannot be reached the error is returned, and the instance
// still disappears once its lease expires.
func (r *Registry) Deregister(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("deregister", service); err != nil {
		return err
	}
	key := r.key(service.Name, service.ID)
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("etcd: deregister %q (id %q) at %s: %w", service.Name, service.ID, key, err)
	}
	defer r.unlock()
	var lease clientv3.LeaseID
	if g := r.stopKeepAlive(key); g != nil {
		lease = clientv3.LeaseID(g.lease.Load())
	}
	if cerr := r.client.Ctx().Err(); cerr != nil {
		// A closed client cannot reach etcd; the lease expires on its own.
		return fmt.Errorf("etcd: deregister %q (id %q) at %s: client closed: %w", service.Name, service.ID, key, cerr)
	}
	_, err := r.client.Delete(ctx, key)
	if lease != 0 {
		if _, rerr := r.client.Revoke(ctx, lease); rerr != nil && !errors.Is(rerr, rpctypes.ErrLeaseNotFound) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("etcd: deregister %q (id %q) at %s: %w", service.Name, service.ID, key, err)
	}
	return nil
}

// put writes key under lease if etcd still has that lease, or else under a
// newly granted lease, and returns the lease used.
func (r *Registry) put(ctx context.Context, key, value string, lease clientv3.LeaseID) (clientv3.LeaseID, error) {
	if lease != 0 {
		_, err := r.client.Put(ctx, key, value, clientv3.WithLease(lease))
		if err == nil {
			return lease, nil
		}
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return 0, fmt.Errorf("put under lease %x: %w", int64(lease), err)
		}
	}
	ttl := int64((r.opts.ttl + time.Second - 1) / time.Second)
	grant, err := r.client.Grant(ctx, ttl)
	if err != nil {
		return 0, fmt.Errorf("grant lease of %ds: %w", ttl, err)
	}
	if _, err := r.client.Put(ctx, key, value, clientv3.WithLease(grant.ID)); err != nil {
		r.revoke(ctx, grant.ID)
		return 0, fmt.Errorf("put under lease %x: %w", int64(grant.ID), err)
	}
	return grant.ID, nil
}

// revoke revokes a lease on a best-effort basis: a lease that is not revoked
// expires by itself.
func (r *Registry) revoke(ctx context.Context, lease clientv3.LeaseID) {
	if lease == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_, _ = r.client.Revoke(ctx, lease)
}

// keepAlive keeps g's lease alive and, when the lease is lost, registers g
// again under a new lease, until ctx is done or the client is closed.
func (r *Registry) keepAlive(ctx context.Context, g *registration) {
	defer close(g.done)
	defer g.cancel()
	// Closing the client ends the loop too; one context covers both.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.client.Ctx(), cancel)()
	// Attempts wait with the backoff of every registry loop, except that
	// they never wait more than half the TTL: past the TTL the instance has
	// disappeared, so the next attempt must come before that when etcd is
	// back.
	policy := backoff.Reconnect()
	policy.Max = min(max(r.opts.ttl/2, 500*time.Millisecond), policy.Max)
	b, failures := policy.Start(), 0
	for {
		lease := clientv3.LeaseID(g.lease.Load())
		alive := false
		ch, err := r.client.KeepAlive(ctx, lease)
		if err == nil {
			for range ch { // drained until the lease is lost or ctx is done
				alive = true
			}
		}
		if ctx.Err() != nil {
			return
		}
		r.log(log.LevelWarn, "msg", "etcd: lease lost, registering again", "key", g.key, "lease", fmt.Sprintf("%x", int64(lease)), "error", err)
		if alive {
			// The lease worked for a while: try again at once.
			b.Reset()
			failures = 0
		} else if backoff.Sleep(ctx, nil, b.Next()) != nil {
			return
		}
		if !r.registerAgain(ctx, g, lease, &b, &failures) {
			return
		}
	}
}

// registerAgain writes g under its lease, if etcd still has it, or else
// under a new one, retrying with b until it succeeds (true) or the loop must
// stop (false): ctx is done, or MaxRetry attempts failed. failures counts
// the consecutive failed attempts across calls.
func (r *Registry) registerAgain(ctx context.Context, g *registration, lease clientv3.LeaseID, b *backoff.Backoff, failures *int) bool {
	// Each attempt may take up to the TTL (bounded).
	attemptTimeout := min(max(r.opts.ttl, time.Second), 10*time.Second)
	for {
		// etcd may still have the lease (the client only lost contact, say
		// while etcd restarted): then it is kept, else replaced.
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		newLease, err := r.put(actx, g.key, g.value, lease)
		cancel()
		if ctx.Err() != nil {
			if err == nil && newLease != lease {
				r.revoke(ctx, newLease)
			}
			return false
		}
		if err == nil {
			if newLease != lease {
				// The key moved to the new lease; free the old one in case.
				r.revoke(ctx, lease)
				g.lease.Store(int64(newLease))
			}
			r.log(log.LevelInfo, "msg", "etcd: registered again", "key", g.key, "lease", fmt.Sprintf("%x", int64(newLease)))
			return true
		}
		*failures++
		r.log(log.LevelWarn, "msg", "etcd: register again failed", "key", g.key, "attempt", *failures, "error", err)
		if r.opts.maxRetry > 0 && *failures >= r.opts.maxRetry {
			r.log(log.LevelError, "msg", "etcd: giving up registering again", "key", g.key, "attempts", *failures)
			return false
		}
		if backoff.Sleep(ctx, nil, b.Next()) != nil {
			return false
		}
	}
}

func (r *Registry) log(level log.Level, keyvals ...any) {
	if r.opts.logger != nil {
		_ = r.opts.logger.Log(level, keyvals...)
	}
}

// GetService returns the instances of a service, sorted by ID.
func (r *Registry) GetService(ctx context.Context, serviceName string) ([]*registry.ServiceInstance, error) {
	resp, err := r.client.Get(ctx, r.prefix(serviceName), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcd: get service %q: %w", serviceName, err)
	}
	out := make([]*registry.ServiceInstance, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if in := decode(kv.Value); in != nil {
			out = append(out, in)
		}
	}
	return out, nil
}

// decode parses a stored instance; values that are not one are skipped.
func decode(value []byte) *registry.ServiceInstance {
	in := new(registry.ServiceInstance)
	if err := json.Unmarshal(value, in); err != nil || in.ID == "" {
		return nil
	}
	return in
}

func validate(op string, s *registry.ServiceInstance) error {
	switch {
	case s == nil:
		return fmt.Errorf("etcd: %s: nil service instance", op)
	case s.Name == "":
		return fmt.Errorf("etcd: %s: instance %q has no name", op, s.ID)
	case s.ID == "":
		return fmt.Errorf("etcd: %s: instance of %q has no ID", op, s.Name)
	case strings.Contains(s.Name, "/") || strings.Contains(s.ID, "/"):
		return fmt.Errorf("etcd: %s: name %q and ID %q must not contain '/'", op, s.Name, s.ID)
	}
	return nil
}
