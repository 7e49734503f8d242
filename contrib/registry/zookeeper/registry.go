// Package zookeeper is a registry.Registrar and registry.Discovery backed by
// Apache ZooKeeper, on github.com/go-zookeeper/zk.
//
//	r, err := zookeeper.New([]string{"127.0.0.1:2181"})
//	if err != nil { ... }
//	defer r.Close()
//	err = r.Register(ctx, &registry.ServiceInstance{ID: "greeter-1", Name: "greeter", ...})
//
// Each instance is an ephemeral znode <root>/<service name>/<instance ID>
// holding the JSON of its registry.ServiceInstance, under persistent parent
// znodes created on demand. An ephemeral znode lives as long as the ZooKeeper
// session of the Registry that created it: an instance whose process dies
// disappears once ZooKeeper expires its session, the session timeout after
// the process was last heard from.
//
// The Registry owns its ZooKeeper connection. While ZooKeeper is unreachable
// for less than the session timeout, the client reconnects with the same
// session and the znodes stay. If the session expires (ZooKeeper was gone,
// or this process was cut off, for longer than that), the client opens a new
// session and the Registry creates the znodes of its registered instances
// again, retrying with backoff until it succeeds or it is closed.
package zookeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zelos-go/zelos/internal/backoff"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

var (
	_ registry.Registrar = (*Registry)(nil)
	_ registry.Discovery = (*Registry)(nil)
)

// ErrClosed is returned by the methods of a closed Registry, and by Next on
// the watchers of a closed Registry.
var ErrClosed = errors.New("zookeeper: registry closed")

// Option configures a Registry.
type Option func(*options)

type options struct {
	root           string
	sessionTimeout time.Duration
	dialer         zk.Dialer
	logger         log.Logger
	acl            []zk.ACL
	auth           []authInfo
}

type authInfo struct {
	scheme string
	auth   []byte
}

// WithRootPath sets the znode under which services are stored. The default
// is "/microservices"; a trailing slash is removed.
func WithRootPath(p string) Option {
	return func(o *options) { o.root = "/" + strings.Trim(p, "/") }
}

// WithSessionTimeout sets the session timeout the Registry asks ZooKeeper
// for: the longest an instance stays listed after its process died, and the
// longest ZooKeeper may be unreachable without the Registry having to
// register its instances again. ZooKeeper bounds it between 2 and 20 ticks
// (4s to 40s with the default tickTime of 2s). The default is 10s.
func WithSessionTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.sessionTimeout = d
		}
	}
}

// WithDialer sets how the client opens its TCP connections to ZooKeeper.
// The default is net.DialTimeout.
func WithDialer(d zk.Dialer) Option {
	return func(o *options) { o.dialer = d }
}

// WithLogger sets the logger of background failures (a znode that could
// not be created again after the session expired) and of the ZooKeeper
// client's own messages, at LevelDebug. By default nothing is logged.
func WithLogger(l log.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithAuth adds credentials to the session, as zk.Conn.AddAuth does, for
// example scheme "digest" and auth "user:password". New sends them, and
// fails if ZooKeeper cannot be reached to take them; the client sends them
// again after every reconnection.
func WithAuth(scheme string, auth []byte) Option {
	return func(o *options) { o.auth = append(o.auth, authInfo{scheme, auth}) }
}

// WithACL sets the ACL of the znodes the Registry creates. The default is
// zk.WorldACL(zk.PermAll).
func WithACL(acl ...zk.ACL) Option {
	return func(o *options) { o.acl = acl }
}

// Registry registers and discovers service instances in ZooKeeper. It is
// safe for concurrent use. Close it when done: that ends its session, and
// ZooKeeper deletes the znodes of the instances still registered.
type Registry struct {
	conn *zk.Conn
	opts options

	// sem, a lock that honours contexts, serializes Register, Deregister
	// and the re-creation of znodes after a session expired, so that
	// the znodes and regs agree; it guards regs.
	sem  chan struct{}
	regs map[string][]byte // znode path -> data, of the registered instances

	resync chan struct{} // capacity 1: a new session wants the znodes checked

	stateMu    sync.Mutex
	hasSession bool
	ready      chan struct{} // closed while the client has a session
	// life is done once Close is called; it ends the background retries
	// and the watchers.
	life      context.Context
	end       context.CancelFunc
	closeOnce sync.Once
	done      chan struct{} // closed when the background goroutine has ended
}

// New connects to the ZooKeeper servers (host:port each) and returns a
// Registry. The connection is made in the background: New does not wait
// for it (unless WithAuth is given: the credentials are sent first), and
// calls made before the session is up wait for it, for at most the session
// timeout.
func New(servers []string, opts ...Option) (*Registry, error) {
	o := options{root: "/microservices", sessionTimeout: 10 * time.Second, acl: zk.WorldACL(zk.PermAll)}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Registry{
		opts:   o,
		sem:    make(chan struct{}, 1),
		regs:   make(map[string][]byte),
		resync: make(chan struct{}, 1),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	r.life, r.end = context.WithCancel(context.Background())
	zkOpts := zkOptions(
		zk.WithLogger(zkLogger{o.logger}),
		zk.WithLogInfo(false),
		// The callback runs on the client's goroutine and must not block: it
		// only flags the new session for the background goroutine.
		zk.WithEventCallback(r.onEvent),
	)
	if o.dialer != nil {
		zkOpts = append(zkOpts, zk.WithDialer(o.dialer))
	}
	conn, events, err := zk.Connect(servers, o.sessionTimeout, zkOpts...)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: connect to %v: %w", servers, err)
	}
	r.conn = conn
	for _, a := range o.auth {
		if err := conn.AddAuth(a.scheme, a.auth); err != nil {
			r.end()
			conn.Close()
			return nil, fmt.Errorf("zookeeper: add %s auth: %w", a.scheme, err)
		}
	}
	go r.run(events)
	return r, nil
}

// zkOptions returns its arguments as a slice. zk's option type is unexported:
// inference is the only way to name a slice of them.
func zkOptions[T any](v ...T) []T { return v }

func (r *Registry) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	has := ev.State == zk.StateHasSession
	switch {
	case has && !r.hasSession:
		close(r.ready)
	case !has && r.hasSession:
		r.ready = make(chan struct{})
	}
	r.hasSession = has
	if has {
		select {
		case r.resync <- struct{}{}:
		default: // a check is already pending
		}
	}
}

// awaitSession waits until the client has a session, ctx is done, the
// Registry is closed or the session timeout has passed; then the call to
// ZooKeeper is made anyway, and fails if there is still no session. Without
// it, a call made while the client is between two connections fails at
// once (zk's ErrNoServer) although the session is about to be back.
func (r *Registry) awaitSession(ctx context.Context) error {
	r.stateMu.Lock()
	ready := r.ready
	r.stateMu.Unlock()
	t := time.NewTimer(r.opts.sessionTimeout)
	defer t.Stop()
	select {
	case <-ready:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.life.Done():
		return ErrClosed
	}
	return nil
}

// run drains the client's event channel until the client has ended, and
// creates the znodes again whenever a session is (re)established.
func (r *Registry) run(events <-chan zk.Event) {
	defer close(r.done)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-r.resync:
			r.restore(r.life)
		}
	}
}

// restore makes sure every registered instance has its znode, owned by the
// current session, retrying with backoff until it does or ctx is done. A
// new session while it waits starts the checks over.
func (r *Registry) restore(ctx context.Context) {
	b := backoff.Reconnect().Start()
	for {
		err := r.restoreOnce(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		delay := b.Next()
		r.log(log.LevelWarn, "msg", "zookeeper: registering again after a new session failed", "retry_in", delay, "error", err)
		select {
		case <-time.After(delay):
		case <-r.resync:
		case <-ctx.Done():
			return
		}
	}
}

func (r *Registry) restoreOnce(ctx context.Context) error {
	if err := r.lock(ctx); err != nil {
		return err
	}
	defer r.unlock()
	if err := r.awaitSession(ctx); err != nil {
		return err
	}
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(r.regs)) {
		created, err := r.ensure(p, r.regs[p])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if created {
			r.log(log.LevelInfo, "msg", "zookeeper: registered again", "path", p, "session", fmt.Sprintf("%x", r.conn.SessionID()))
		}
	}
	return errors.Join(errs...)
}

// ensure makes p an ephemeral znode of the current session holding data,
// and reports whether it had to create it.
func (r *Registry) ensure(p string, data []byte) (created bool, err error) {
	for range 3 { // a concurrent delete or create of p is retried
		got, stat, err := r.conn.Get(p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			if err := r.createParents(path.Dir(p)); err != nil {
				return false, err
			}
			_, err := r.conn.Create(p, data, zk.FlagEphemeral, r.opts.acl)
			if errors.Is(err, zk.ErrNodeExists) {
				continue
			}
			return err == nil, err
		case err != nil:
			return false, err
		case stat.EphemeralOwner != r.conn.SessionID():
			// Left by an expired session of ours, or by another process with
			// the same ID: registering again replaces it.
			if err := r.conn.Delete(p, stat.Version); err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
				return false, err
			}
		case string(got) != string(data):
			if _, err := r.conn.Set(p, data, stat.Version); err != nil && !errors.Is(err, zk.ErrBadVersion) {
				return false, err
			} else if err == nil {
				return false, nil
			}
		default:
			return false, nil
		}
	}
	return false, fmt.Errorf("znode changed concurrently three times")
}

// createParents creates the persistent znodes down to p.
func (r *Registry) createParents(p string) error {
	if p == "/" {
		return nil
	}
	if ok, _, err := r.conn.Exists(p); err != nil || ok {
		return err
	}
	if err := r.createParents(path.Dir(p)); err != nil {
		return err
	}
	if _, err := r.conn.Create(p, nil, zk.FlagPersistent, r.opts.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	return nil
}

func (r *Registry) lock(ctx context.Context) error {
	select {
	case <-r.life.Done():
		return ErrClosed
	default:
	}
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.life.Done():
		return ErrClosed
	}
}

func (r *Registry) unlock() { <-r.sem }

func (r *Registry) servicePath(name string) string {
	if r.opts.root == "/" {
		return "/" + name
	}
	return r.opts.root + "/" + name
}

func (r *Registry) instancePath(name, id string) string { return r.servicePath(name) + "/" + id }

// Register creates the instance's ephemeral znode, or replaces the data of
// the registered instance of the same name and ID, and keeps it registered
// across sessions until Deregister or Close.
//
// The ZooKeeper client has no contexts: ctx bounds the wait for other
// Register and Deregister calls, and a call to ZooKeeper under way runs
// until the client's own timeouts end it.
func (r *Registry) Register(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("register", service); err != nil {
		return err
	}
	data, err := json.Marshal(service)
	if err != nil {
		return fmt.Errorf("zookeeper: register %q (id %q): %w", service.Name, service.ID, err)
	}
	p := r.instancePath(service.Name, service.ID)
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("zookeeper: register %q (id %q) at %s: %w", service.Name, service.ID, p, err)
	}
	defer r.unlock()
	if err := r.awaitSession(ctx); err != nil {
		return fmt.Errorf("zookeeper: register %q (id %q) at %s: %w", service.Name, service.ID, p, err)
	}
	if _, err := r.ensure(p, data); err != nil {
		return fmt.Errorf("zookeeper: register %q (id %q) at %s: %w", service.Name, service.ID, p, err)
	}
	r.regs[p] = data
	return nil
}

// Deregister deletes the instance's znode. Deregistering an instance that
// is not registered is not an error. If ZooKeeper cannot be reached the
// error is returned, and the Registry no longer registers the instance
// again: its znode goes with the session.
func (r *Registry) Deregister(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("deregister", service); err != nil {
		return err
	}
	p := r.instancePath(service.Name, service.ID)
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("zookeeper: deregister %q (id %q) at %s: %w", service.Name, service.ID, p, err)
	}
	defer r.unlock()
	delete(r.regs, p)
	if err := r.awaitSession(ctx); err != nil {
		return fmt.Errorf("zookeeper: deregister %q (id %q) at %s: %w", service.Name, service.ID, p, err)
	}
	if err := r.conn.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("zookeeper: deregister %q (id %q) at %s: %w", service.Name, service.ID, p, err)
	}
	return nil
}

// GetService returns the instances of a service, sorted by ID. A service
// without instances, or unknown, has none and is not an error.
func (r *Registry) GetService(ctx context.Context, serviceName string) ([]*registry.ServiceInstance, error) {
	if err := r.check(ctx); err != nil {
		return nil, fmt.Errorf("zookeeper: get service %q: %w", serviceName, err)
	}
	if err := r.awaitSession(ctx); err != nil {
		return nil, fmt.Errorf("zookeeper: get service %q: %w", serviceName, err)
	}
	list, _, err := r.read(serviceName, false)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: get service %q: %w", serviceName, err)
	}
	return list, nil
}

func (r *Registry) check(ctx context.Context) error {
	select {
	case <-r.life.Done():
		return ErrClosed
	default:
	}
	return ctx.Err()
}

// read lists the instances of name. With watch, it also returns the
// one-shot ZooKeeper watches that fire on the next change: the children of
// the service znode and the data of each instance, or the existence of the
// service znode when there is none yet.
func (r *Registry) read(name string, watch bool) ([]*registry.ServiceInstance, []<-chan zk.Event, error) {
	p := r.servicePath(name)
	for {
		var (
			children []string
			watches  []<-chan zk.Event
			err      error
		)
		if watch {
			var ch <-chan zk.Event
			if children, _, ch, err = r.conn.ChildrenW(p); err == nil {
				watches = append(watches, ch)
			}
		} else {
			children, _, err = r.conn.Children(p)
		}
		switch {
		case errors.Is(err, zk.ErrNoNode) && !watch:
			return []*registry.ServiceInstance{}, nil, nil
		case errors.Is(err, zk.ErrNoNode):
			ok, _, ch, err := r.conn.ExistsW(p)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				continue // created meanwhile: watch its children
			}
			return []*registry.ServiceInstance{}, []<-chan zk.Event{ch}, nil
		case err != nil:
			return nil, nil, err
		}
		list, dataWatches, err := r.readInstances(p, children, watch)
		return list, append(watches, dataWatches...), err
	}
}

// readInstances reads the instance znodes of the service znode p, sorted
// by ID, and with watch sets a data watch on each.
func (r *Registry) readInstances(p string, children []string, watch bool) ([]*registry.ServiceInstance, []<-chan zk.Event, error) {
	slices.Sort(children)
	list := make([]*registry.ServiceInstance, 0, len(children))
	var watches []<-chan zk.Event
	for _, c := range children {
		var (
			data []byte
			ch   <-chan zk.Event
			err  error
		)
		if watch {
			data, _, ch, err = r.conn.GetW(p + "/" + c)
		} else {
			data, _, err = r.conn.Get(p + "/" + c)
		}
		if errors.Is(err, zk.ErrNoNode) {
			continue // deleted since: the children watch fires for it
		}
		if err != nil {
			return nil, nil, err
		}
		if ch != nil {
			watches = append(watches, ch)
		}
		if in := decode(data); in != nil {
			list = append(list, in)
		}
	}
	return list, watches, nil
}

// decode parses a stored instance; data that is not one is skipped.
func decode(data []byte) *registry.ServiceInstance {
	in := new(registry.ServiceInstance)
	if err := json.Unmarshal(data, in); err != nil || in.ID == "" {
		return nil
	}
	return in
}

// Close ends the session, so ZooKeeper deletes the znodes of the instances
// still registered at once, and stops the watchers: a blocked Next returns
// ErrClosed. Close waits for the client's goroutines and is idempotent.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		r.end()
		r.conn.Close()
	})
	<-r.done
	return nil
}

func (r *Registry) log(level log.Level, keyvals ...any) {
	if r.opts.logger != nil {
		_ = r.opts.logger.Log(level, keyvals...)
	}
}

// zkLogger passes the zk client's messages to a log.Logger at LevelDebug.
type zkLogger struct{ l log.Logger }

func (z zkLogger) Printf(format string, args ...any) {
	if z.l != nil {
		_ = z.l.Log(log.LevelDebug, "msg", "zookeeper: client: "+fmt.Sprintf(format, args...))
	}
}

func validate(op string, s *registry.ServiceInstance) error {
	switch {
	case s == nil:
		return fmt.Errorf("zookeeper: %s: nil service instance", op)
	case s.Name == "":
		return fmt.Errorf("zookeeper: %s: instance %q has no name", op, s.ID)
	case s.ID == "":
		return fmt.Errorf("zookeeper: %s: instance of %q has no ID", op, s.Name)
	case strings.Contains(s.Name, "/") || strings.Contains(s.ID, "/"):
		return fmt.Errorf("zookeeper: %s: name %q and ID %q must not contain '/'", op, s.Name, s.ID)
	case s.Name == "." || s.Name == ".." || s.ID == "." || s.ID == "..":
		return fmt.Errorf("zookeeper: %s: name %q and ID %q must not be . or ..", op, s.Name, s.ID)
	}
	return nil
}
