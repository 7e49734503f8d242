// Package eureka is a registry.Registrar and registry.Discovery backed by
// Netflix Eureka, over its REST API with net/http.
//
//	r, err := eureka.New([]string{"http://eureka-1:8761/eureka/v2"})
//	if err != nil { ... }
//	defer r.Close()
//	err = r.Register(ctx, &registry.ServiceInstance{ID: "greeter-1", Name: "greeter", ...})
//
// Register posts the instance to /apps/{APP} (the upper-cased service
// name) and sends a heartbeat (PUT /apps/{APP}/{id}) every heartbeat
// interval; a heartbeat answered 404 (the server forgot the instance, as
// after a restart) registers it again. Deregister deletes it. GetService
// fetches /apps/{APP} and lists the instances whose status is UP; a
// Watcher fetches it every refresh interval and reports the list when it
// changed.
//
// An instance whose process dies stops sending heartbeats: Eureka evicts
// it once its lease (the lease duration) has run out, on its eviction
// schedule (every 60s by default, and not at all while the server is in
// self-preservation mode).
//
// The name, version and endpoints of an instance, which Eureka has no
// field for, travel in its metadata under zelos_name, zelos_version and
// zelos_endpoints; metadata keys starting with zelos_ are reserved.
package eureka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

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
var ErrClosed = errors.New("eureka: registry closed")

// maxBody bounds the replies read from Eureka.
const maxBody = 16 << 20

// Option configures a Registry.
type Option func(*options)

type options struct {
	client    *http.Client
	heartbeat time.Duration
	lease     time.Duration
	refresh   time.Duration
	timeout   time.Duration
	logger    log.Logger
}

// WithHTTPClient sets the HTTP client of the requests to Eureka. The
// default is a client of its own with http.DefaultTransport.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c != nil {
			o.client = c
		}
	}
}

// WithHeartbeat sets how often each registered instance renews its lease.
// The default is 30s, Eureka's renewal interval.
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.heartbeat = d
		}
	}
}

// WithLease sets the lease duration the instances are registered with: how
// long Eureka keeps an instance without heartbeats before it may evict it.
// Eureka counts whole seconds, so d is rounded up. The default is 90s,
// Eureka's default.
func WithLease(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.lease = d
		}
	}
}

// WithRefresh sets how often a Watcher fetches the service's instances.
// The default is 30s, Eureka clients' registry fetch interval.
func WithRefresh(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.refresh = d
		}
	}
}

// WithTimeout bounds each request to one Eureka server, so that a server
// that hangs fails over to the next. The default is 10s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithLogger sets the logger of background failures, such as a heartbeat
// that failed or an instance registered again. By default nothing is
// logged.
func WithLogger(l log.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Registry registers and discovers service instances in Eureka. It is safe
// for concurrent use. Close it when done: that stops the heartbeats.
type Registry struct {
	endpoints []string // base URLs, such as http://host:8761/eureka/v2
	opts      options

	life context.Context // done once Close is called
	end  context.CancelFunc

	// sem, a lock that honours contexts, serializes Register and
	// Deregister so that the heartbeats agree with them; it guards beats.
	sem   chan struct{}
	beats map[string]*heartbeat // by app/id
	wg    sync.WaitGroup        // the heartbeat goroutines
}

type heartbeat struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Registry of the Eureka servers at endpoints, the base URLs
// of their REST API such as "http://127.0.0.1:8761/eureka/v2" (Spring
// Cloud's servers serve it under /eureka). Requests go to the first server
// and fail over to the next ones.
func New(endpoints []string, opts ...Option) (*Registry, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("eureka: no endpoint")
	}
	base := make([]string, len(endpoints))
	for i, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("eureka: endpoint %q is not an http(s) URL", e)
		}
		base[i] = strings.TrimRight(e, "/")
	}
	o := options{
		client:    &http.Client{},
		heartbeat: 30 * time.Second,
		lease:     90 * time.Second,
		refresh:   30 * time.Second,
		timeout:   10 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Registry{endpoints: base, opts: o, sem: make(chan struct{}, 1), beats: make(map[string]*heartbeat)}
	r.life, r.end = context.WithCancel(context.Background())
	return r, nil
}

// statusError is a reply with an unexpected status.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("status %d", e.code)
	}
	return fmt.Sprintf("status %d: %s", e.code, e.body)
}

func isStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == code
}

// do sends a request to each server in turn until one answers with a
// status below 500, and returns the body of a 2xx reply. A 4xx reply is an
// error for the caller (a *statusError), not a reason to fail over.
func (r *Registry) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var errs []error
	for _, base := range r.endpoints {
		b, err := r.doOne(ctx, base, method, path, body)
		if err == nil {
			return b, nil
		}
		var se *statusError
		if errors.As(err, &se) && se.code < 500 {
			return nil, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", base, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (r *Registry) doOne(ctx context.Context, base, method, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.opts.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("reply over %d bytes", maxBody)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return nil, &statusError{code: resp.StatusCode, body: msg}
	}
	return b, nil
}

func appPath(name string) string { return "/apps/" + url.PathEscape(strings.ToUpper(name)) }

func instancePath(name, id string) string { return appPath(name) + "/" + url.PathEscape(id) }

func (r *Registry) lock(ctx context.Context) error {
	if r.life.Err() != nil {
		return ErrClosed
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

// seconds rounds d up to whole seconds, at least one.
func seconds(d time.Duration) int { return max(int((d+time.Second-1)/time.Second), 1) }

// Register posts the instance to Eureka, replacing a registered instance
// of the same name and ID, and renews its lease every heartbeat interval
// until Deregister or Close.
func (r *Registry) Register(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("register", service); err != nil {
		return err
	}
	info, err := toInstanceInfo(service, seconds(r.opts.heartbeat), seconds(r.opts.lease))
	if err != nil {
		return fmt.Errorf("eureka: register %q (id %q): %w", service.Name, service.ID, err)
	}
	body, err := json.Marshal(instanceEnvelope{Instance: info})
	if err != nil {
		return fmt.Errorf("eureka: register %q (id %q): %w", service.Name, service.ID, err)
	}
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("eureka: register %q (id %q): %w", service.Name, service.ID, err)
	}
	defer r.unlock()
	key := instancePath(service.Name, service.ID)
	r.stopHeartbeat(key)
	if _, err := r.do(ctx, http.MethodPost, appPath(service.Name), body); err != nil {
		return fmt.Errorf("eureka: register %q (id %q): %w", service.Name, service.ID, err)
	}
	hctx, cancel := context.WithCancel(r.life)
	h := &heartbeat{cancel: cancel, done: make(chan struct{})}
	r.beats[key] = h
	r.wg.Add(1)
	go r.beat(hctx, h, service, key, body)
	return nil
}

// stopHeartbeat ends the heartbeat of key, if there is one, and waits for
// it. The caller holds r.sem.
func (r *Registry) stopHeartbeat(key string) {
	if h := r.beats[key]; h != nil {
		delete(r.beats, key)
		h.cancel()
		<-h.done
	}
}

// beat renews the lease of the instance at key every heartbeat interval.
// A 404 means Eureka forgot the instance (it restarted, or evicted it
// while this process was cut off): it is registered again. While Eureka
// cannot be reached it tries again sooner, with the backoff of every
// registry loop capped at the heartbeat interval.
func (r *Registry) beat(ctx context.Context, h *heartbeat, s *registry.ServiceInstance, key string, body []byte) {
	defer r.wg.Done()
	defer close(h.done)
	policy := backoff.Reconnect()
	policy.Max = min(policy.Max, r.opts.heartbeat)
	b := policy.Start()
	for wait := r.opts.heartbeat; ; {
		if backoff.Sleep(ctx, nil, wait) != nil {
			return
		}
		wait = r.opts.heartbeat
		_, err := r.do(ctx, http.MethodPut, key, nil)
		if isStatus(err, http.StatusNotFound) && ctx.Err() == nil {
			r.log(log.LevelWarn, "msg", "eureka: instance unknown to the server, registering again", "service", s.Name, "id", s.ID)
			_, err = r.do(ctx, http.MethodPost, appPath(s.Name), body)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait = b.Next()
			r.log(log.LevelWarn, "msg", "eureka: heartbeat failed", "service", s.Name, "id", s.ID, "retry_in", wait.String(), "error", err)
			continue
		}
		b.Reset()
	}
}

// Deregister stops the instance's heartbeat and deletes it from Eureka.
// Deregistering an instance that Eureka does not know is not an error.
func (r *Registry) Deregister(ctx context.Context, service *registry.ServiceInstance) error {
	if err := validate("deregister", service); err != nil {
		return err
	}
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("eureka: deregister %q (id %q): %w", service.Name, service.ID, err)
	}
	defer r.unlock()
	key := instancePath(service.Name, service.ID)
	r.stopHeartbeat(key)
	if _, err := r.do(ctx, http.MethodDelete, key, nil); err != nil && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("eureka: deregister %q (id %q): %w", service.Name, service.ID, err)
	}
	return nil
}

// GetService returns the instances of a service whose status is UP, sorted
// by ID. An unknown service has none and is not an error.
func (r *Registry) GetService(ctx context.Context, serviceName string) ([]*registry.ServiceInstance, error) {
	if r.life.Err() != nil {
		return nil, fmt.Errorf("eureka: get service %q: %w", serviceName, ErrClosed)
	}
	list, err := r.fetch(ctx, serviceName)
	if err != nil {
		return nil, fmt.Errorf("eureka: get service %q: %w", serviceName, err)
	}
	return list, nil
}

// fetch reads the application of name and returns its UP instances.
func (r *Registry) fetch(ctx context.Context, name string) ([]*registry.ServiceInstance, error) {
	b, err := r.do(ctx, http.MethodGet, appPath(name), nil)
	if isStatus(err, http.StatusNotFound) {
		return []*registry.ServiceInstance{}, nil
	}
	if err != nil {
		return nil, err
	}
	var env applicationEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("decode the application: %w", err)
	}
	list := make([]*registry.ServiceInstance, 0, len(env.Application.Instance))
	for _, in := range env.Application.Instance {
		if in.Status != "UP" {
			continue
		}
		list = append(list, fromInstanceInfo(name, in))
	}
	slices.SortFunc(list, func(a, b *registry.ServiceInstance) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}

// Close stops the heartbeats, without deregistering (Eureka evicts the
// instances once their leases run out), and ends the watchers: a blocked
// Next returns ErrClosed. Close waits for the heartbeat goroutines and is
// idempotent.
func (r *Registry) Close() error {
	r.end()
	r.wg.Wait()
	return nil
}

func (r *Registry) log(level log.Level, keyvals ...any) {
	if r.opts.logger != nil {
		_ = r.opts.logger.Log(level, keyvals...)
	}
}

func validate(op string, s *registry.ServiceInstance) error {
	switch {
	case s == nil:
		return fmt.Errorf("eureka: %s: nil service instance", op)
	case s.Name == "":
		return fmt.Errorf("eureka: %s: instance %q has no name", op, s.ID)
	case s.ID == "":
		return fmt.Errorf("eureka: %s: instance of %q has no ID", op, s.Name)
	}
	return nil
}
