package http

import (
	"context"
	nethttp "net/http"
	"slices"
	"sync/atomic"

	"github.com/zelos-go/zelos/health"
)

// LivenessPaths sets the paths answering the liveness probe (200 while the
// process serves HTTP), /healthz by default. With no paths there is no
// liveness probe.
func LivenessPaths(paths ...string) ServerOption {
	return func(s *Server) { s.probes.live = slices.Clone(paths) }
}

// ReadinessPaths sets the paths answering the readiness probe, /readyz
// and /health (the path the tutorial's Deployment probes) by default. With
// no paths there is no readiness probe. /health is readiness, not
// liveness: point a livenessProbe at /healthz, so that a drain or a failing
// dependency check never gets the container restarted.
func ReadinessPaths(paths ...string) ServerOption {
	return func(s *Server) { s.probes.ready = slices.Clone(paths) }
}

// DisableProbes removes the liveness and readiness probes, for a server
// whose probes are elsewhere, such as on the admin server.
func DisableProbes() ServerOption {
	return func(s *Server) { s.probes.live, s.probes.ready = nil, nil }
}

// probeSet answers the Kubernetes probes on GET and HEAD:
//
//   - liveness (/healthz): 200 while the process serves;
//   - readiness (/readyz, /health): 200 when ready, else 503, with a
//     report of the state and the checks for ?verbose.
//
// Readiness follows the App the server runs in (the health.Status in the
// context of Start): not ready until every server serves and the instance
// is registered, nor from the first moment of a stop. A server run on its
// own is ready from Start until Stop.
//
// The probes are answered only when no route matches, so a route of the
// user on the same path and method wins; they run outside the middleware
// chain, so that probes every few seconds fill neither access logs nor
// request metrics, but inside the server filters. They are at the root,
// whatever the PathPrefix, where the kubelet looks for them.
type probeSet struct {
	live, ready []string
	status      atomic.Pointer[probeStatus]
	liveness    nethttp.Handler
}

// init sets the default probes, before the options change them. Until
// Start picks the Status readiness follows, it follows one that is always
// serving: a server used as a plain handler and never started serves
// whenever it is asked, so it is ready.
func (p *probeSet) init() {
	p.live, p.ready, p.liveness = []string{"/healthz"}, []string{"/readyz", "/health"}, health.LivenessHandler()
	st := health.NewStatus()
	st.Set(health.Serving)
	p.status.Store(&probeStatus{Status: st, ready: health.ReadinessHandler(st)})
}

// probeStatus is the Status readiness follows. It is set once, by start,
// which may run concurrently with stop.
type probeStatus struct {
	*health.Status
	own   bool            // the server's own, not an App's
	ready nethttp.Handler // the readiness handler of Status, made once
}

// start picks the Status readiness follows: the App's, or one of the
// server's own, which serves from now on.
func (p *probeSet) start(ctx context.Context) {
	st, own := health.ForServer(ctx)
	p.status.Store(&probeStatus{Status: st, own: own, ready: health.ReadinessHandler(st)})
}

// stop makes a server's own Status unready. An App's Status was already
// set to Stopping by the App, before the drain delay.
func (p *probeSet) stop() {
	if st := p.status.Load(); st.own {
		st.Set(health.Stopping)
	}
}

// serve answers r if it is a probe, and reports whether it was.
func (p *probeSet) serve(w nethttp.ResponseWriter, r *nethttp.Request, path string) bool {
	if r.Method != nethttp.MethodGet && r.Method != nethttp.MethodHead {
		return false
	}
	switch {
	case slices.Contains(p.live, path):
		p.liveness.ServeHTTP(w, r)
	case slices.Contains(p.ready, path):
		p.status.Load().ready.ServeHTTP(w, r)
	default:
		return false
	}
	return true
}
