// Package health is the readiness state of a Zelos service and the probe
// handlers Kubernetes and load balancers ask: liveness (/healthz) and
// readiness (/readyz), with dependency checks.
//
//	st := health.NewStatus(health.Check{Name: "db", Func: db.PingContext})
//	mux.Handle("/healthz", health.LivenessHandler())
//	mux.Handle("/readyz", health.ReadinessHandler(st))
//	st.Set(health.Serving) // once the service can take traffic
//
// An App keeps one Status for all its servers and hands it to them in the
// context of Start (NewContext), so that every probe, on HTTP, gRPC and the
// admin server, tells the same story: Starting until every server serves
// and the instance is registered, Serving, then Stopping from the first
// moment of a stop. A server run without an App keeps a Status of its own.
package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// State is the lifecycle state of a service. States only move forward:
// Starting, Serving, Stopping.
type State int32

// The states, in the order a service goes through them.
const (
	// Starting: the servers are not all serving yet, or the instance is
	// not registered yet. Not ready.
	Starting State = iota
	// Serving: ready for traffic, if every Check passes.
	Serving
	// Stopping: a stop has begun; not ready, while in-flight and drained
	// requests are still served.
	Stopping
)

// String names the state as the verbose readiness report does.
func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Serving:
		return "serving"
	case Stopping:
		return "stopping"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// DefaultCheckTimeout bounds each Check when a probe runs it: a second, the
// default timeoutSeconds of a Kubernetes probe, past which the kubelet has
// given up on the answer anyway.
const DefaultCheckTimeout = time.Second

// Check is a dependency readiness depends on, such as a database: the
// service is not ready while Func fails.
type Check struct {
	// Name names the check in the verbose report.
	Name string
	// Func reports whether the dependency is usable. It is called on every
	// readiness probe, concurrently with the other checks, with a context
	// bounded by DefaultCheckTimeout, so it should be cheap: a ping.
	Func func(ctx context.Context) error
}

// Status is the readiness state of a service: its lifecycle State and its
// dependency Checks. It is safe for concurrent use.
type Status struct {
	checks []Check

	// notify serializes the calls of watchers, so that they see the
	// states in order; mu guards the fields below and is never held
	// while a watcher runs, so a watcher may read the Status.
	notify   sync.Mutex
	mu       sync.Mutex
	state    State
	note     string
	watchers map[int]func(State)
	nextID   int
}

// NewStatus returns a Status in the Starting state with checks.
func NewStatus(checks ...Check) *Status {
	return &Status{checks: checks, watchers: map[int]func(State){}}
}

// State returns the current state.
func (s *Status) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Set moves the status to state and tells the watchers. A state before the
// current one is ignored: a service that began to stop never becomes ready
// again, whichever of its parts reports last.
func (s *Status) Set(state State) {
	s.notify.Lock()
	defer s.notify.Unlock()
	s.mu.Lock()
	if state <= s.state {
		s.mu.Unlock()
		return
	}
	s.state = state
	ws := make([]func(State), 0, len(s.watchers))
	for _, w := range s.watchers {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w(state)
	}
}

// SetNote sets a line the verbose readiness report adds, about something
// that does not make the service unready, such as a registration retried in
// the background. An empty note removes it.
func (s *Status) SetNote(note string) {
	s.mu.Lock()
	s.note = note
	s.mu.Unlock()
}

// Watch calls fn with the current state at once, then with every new state,
// until the returned function is called. Calls are in order and never
// concurrent. fn must not call Set.
func (s *Status) Watch(fn func(State)) (stop func()) {
	s.notify.Lock()
	defer s.notify.Unlock()
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.watchers[id] = fn
	state := s.state
	s.mu.Unlock()
	fn(state)
	return func() {
		s.mu.Lock()
		delete(s.watchers, id)
		s.mu.Unlock()
	}
}

// CheckResult is the outcome of one Check.
type CheckResult struct {
	// Name is the Check's name.
	Name string
	// Err is what the Check returned: nil if it passed.
	Err error
}

// Report is the outcome of a readiness probe.
type Report struct {
	// State is the lifecycle state.
	State State
	// Checks are the results of the Checks, in the order they were given.
	// They are run only in the Serving state: before and after it, the
	// answer is no whatever they say.
	Checks []CheckResult
	// Note is the Status's note, if any.
	Note string
}

// Ready reports whether the service may take traffic: Serving, and every
// check passed.
func (r Report) Ready() bool {
	if r.State != Serving {
		return false
	}
	for _, c := range r.Checks {
		if c.Err != nil {
			return false
		}
	}
	return true
}

// Err returns nil if the report is Ready, else an error naming what is
// not.
func (r Report) Err() error {
	if r.State != Serving {
		return fmt.Errorf("health: %s", r.State)
	}
	var errs []error
	for _, c := range r.Checks {
		if c.Err != nil {
			errs = append(errs, fmt.Errorf("health: check %s: %w", c.Name, c.Err))
		}
	}
	return errors.Join(errs...)
}

// Check runs the readiness probe: it reads the state and, when Serving,
// runs the checks concurrently, each bounded by DefaultCheckTimeout.
func (s *Status) Check(ctx context.Context) Report {
	s.mu.Lock()
	r := Report{State: s.state, Note: s.note}
	s.mu.Unlock()
	if r.State != Serving || len(s.checks) == 0 {
		return r
	}
	r.Checks = make([]CheckResult, len(s.checks))
	var wg sync.WaitGroup
	for i, c := range s.checks {
		r.Checks[i].Name = c.Name
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Checks[i].Err = runCheck(ctx, c)
		}()
	}
	wg.Wait()
	return r
}

// runCheck runs one check, turning a panic into its error: a probe must
// answer, and the panic of a check is a reason to be unready, not to crash.
func runCheck(ctx context.Context, c Check) (err error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultCheckTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("health: check panicked: %v", v)
		}
	}()
	if c.Func == nil {
		return nil
	}
	return c.Func(ctx)
}

type statusKey struct{}

// NewContext returns a context carrying st. The App gives it to the servers
// it starts, so that their probes follow the App.
func NewContext(ctx context.Context, st *Status) context.Context {
	return context.WithValue(ctx, statusKey{}, st)
}

// FromContext returns the Status in ctx, if any.
func FromContext(ctx context.Context) (*Status, bool) {
	st, ok := ctx.Value(statusKey{}).(*Status)
	return st, ok
}

// ForServer returns the Status the probes of a server started with ctx
// follow: the App's, if ctx has one, else a new Status of the server's
// own, already Serving, which the server sets to Stopping when its Stop
// begins; own reports which. An App's Status is the App's to set.
func ForServer(ctx context.Context) (st *Status, own bool) {
	if st, ok := FromContext(ctx); ok {
		return st, false
	}
	st = NewStatus()
	st.Set(Serving)
	return st, true
}

// LivenessHandler answers 200 "ok" to every request: a process that can
// answer is alive. It does not follow the readiness state on purpose: a
// service that is starting, draining or whose database is down must not be
// restarted by the kubelet for it.
func LivenessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeText(w, r, http.StatusOK, "ok\n")
	})
}

// HandlerOption configures ReadinessHandler.
type HandlerOption func(*handlerConfig)

type handlerConfig struct{ details bool }

// WithErrorDetails makes the verbose report include the error text of the
// failing checks. By default it says "failed" only, as the readiness path
// of a public port should not tell strangers what a database error says;
// the admin server, off the public port, shows the details.
func WithErrorDetails() HandlerOption { return func(c *handlerConfig) { c.details = true } }

// ReadinessHandler answers 200 "ok" when st is ready and 503 otherwise. With
// the query parameter verbose (/readyz?verbose) it lists the state and every
// check, one a line, in the manner of the Kubernetes API server:
//
//	[+]serving ok
//	[+]db ok
//	[-]cache failed
//	readyz check failed
func ReadinessHandler(st *Status, opts ...HandlerOption) http.Handler {
	var c handlerConfig
	for _, o := range opts {
		o(&c)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := st.Check(r.Context())
		code := http.StatusOK
		if !rep.Ready() {
			code = http.StatusServiceUnavailable
		}
		if !r.URL.Query().Has("verbose") {
			if code == http.StatusOK {
				writeText(w, r, code, "ok\n")
			} else {
				writeText(w, r, code, "not ready: "+rep.State.String()+"\n")
			}
			return
		}
		writeText(w, r, code, verbose(rep, c.details))
	})
}

// verbose renders rep as the verbose report.
func verbose(rep Report, details bool) string {
	var b []byte
	mark := func(ok bool) {
		if ok {
			b = append(b, "[+]"...)
		} else {
			b = append(b, "[-]"...)
		}
	}
	mark(rep.State == Serving)
	b = append(b, rep.State.String()...)
	if rep.State == Serving {
		b = append(b, " ok"...)
	}
	b = append(b, '\n')
	for _, c := range rep.Checks {
		mark(c.Err == nil)
		b = append(b, c.Name...)
		switch {
		case c.Err == nil:
			b = append(b, " ok"...)
		case details:
			b = append(b, " failed: "...)
			b = append(b, c.Err.Error()...)
		default:
			b = append(b, " failed"...)
		}
		b = append(b, '\n')
	}
	if rep.Note != "" {
		b = append(b, "[*]"...)
		b = append(b, rep.Note...)
		b = append(b, '\n')
	}
	if rep.Ready() {
		b = append(b, "readyz check passed\n"...)
	} else {
		b = append(b, "readyz check failed\n"...)
	}
	return string(b)
}

// writeText writes a plain-text probe reply that no cache keeps.
func writeText(w http.ResponseWriter, r *http.Request, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}
