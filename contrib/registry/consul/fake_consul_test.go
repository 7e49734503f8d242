package consul_test

// This file is an in-process fake of the parts of the Consul HTTP API that
// the registry uses, written from Consul's API documentation:
//
//   - PUT /v1/agent/service/register (?replace-existing-checks)
//   - PUT /v1/agent/service/deregister/:service_id
//   - PUT /v1/agent/check/update/:check_id and /v1/agent/check/pass/:check_id
//   - GET /v1/health/service/:service (?passing, ?dc) with blocking queries:
//     ?index= and ?wait= hold the request until the index passes the given
//     one or the wait elapses, and every answer carries X-Consul-Index.
//
// TTL checks go critical when not updated within their TTL, HTTP checks are
// run by the fake against the instance, and ?passing drops entries with any
// check that is not passing. It is not Consul: there is one agent, one node
// and one datacenter ("dc1"), and the index is global.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

const (
	fakeNode       = "node-1"
	fakeDatacenter = "dc1"
)

// Wire shapes, as in the HTTP API documentation.

type fakeAddress struct {
	Address string `json:"address"`
	Port    int    `json:"port"`
}

type fakeCheckDef struct {
	CheckID                        string
	Name                           string
	TTL                            string
	HTTP                           string
	Interval                       string
	Timeout                        string
	Status                         string
	Notes                          string
	DeregisterCriticalServiceAfter string
}

type fakeRegistration struct {
	ID              string
	Name            string
	Tags            []string
	Address         string
	Port            int
	Meta            map[string]string
	TaggedAddresses map[string]fakeAddress
	Check           *fakeCheckDef
	Checks          []*fakeCheckDef
}

type fakeHealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	CreateIndex uint64
	ModifyIndex uint64
}

type fakeEntry struct {
	Node struct {
		Node       string
		Address    string
		Datacenter string
	}
	Service struct {
		ID              string
		Service         string
		Tags            []string
		Address         string
		Port            int
		Meta            map[string]string
		TaggedAddresses map[string]fakeAddress
		CreateIndex     uint64
		ModifyIndex     uint64
	}
	Checks []fakeHealthCheck
}

type fakeCheck struct {
	def      fakeCheckDef
	status   string
	output   string
	ttl      time.Duration
	timer    *time.Timer   // TTL checks
	stop     chan struct{} // HTTP checks
	modified uint64
}

type fakeService struct {
	reg      fakeRegistration
	checks   []*fakeCheck
	created  uint64
	modified uint64
}

// fakeConsul is the fake agent and its HTTP server.
type fakeConsul struct {
	srv     *httptest.Server
	failing atomic.Bool // health queries fail with 500
	down    atomic.Bool // registrations and check updates fail with 500

	mu       sync.Mutex
	index    uint64
	changed  chan struct{} // closed and replaced on every change
	services map[string]*fakeService
	queries  []uint64 // the index of each health query, in order
	closing  chan struct{}
	checks   sync.WaitGroup // HTTP check goroutines
}

// newFakeConsul starts a fake that is closed when the test ends.
func newFakeConsul(t *testing.T) *fakeConsul {
	t.Helper()
	f := startFakeConsul()
	t.Cleanup(f.close)
	return f
}

// startFakeConsul starts a fake; close it with close.
func startFakeConsul() *fakeConsul {
	f := &fakeConsul{
		index:    10,
		changed:  make(chan struct{}),
		services: make(map[string]*fakeService),
		closing:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/agent/service/register", f.register)
	mux.HandleFunc("PUT /v1/agent/service/deregister/{id}", f.deregister)
	mux.HandleFunc("PUT /v1/agent/check/update/{id}", f.updateCheck)
	mux.HandleFunc("PUT /v1/agent/check/pass/{id}", f.updateCheck)
	mux.HandleFunc("GET /v1/health/service/{name}", f.health)
	f.srv = httptest.NewServer(mux)
	return f
}

// client returns a Consul API client of the fake whose connections are
// closed when the test ends.
func (f *fakeConsul) client(t *testing.T) *api.Client {
	t.Helper()
	tr := &http.Transport{}
	c, err := api.NewClient(&api.Config{Address: f.srv.URL, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return c
}

func (f *fakeConsul) close() {
	f.mu.Lock()
	select {
	case <-f.closing:
		f.mu.Unlock()
		return
	default:
	}
	close(f.closing)
	for _, s := range f.services {
		f.stopChecks(s)
	}
	f.mu.Unlock()
	f.checks.Wait()
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// bump records a change: a new index, and blocked queries wake. f.mu must be
// held.
func (f *fakeConsul) bump() uint64 {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
	return f.index
}

// setIndex moves the index, for instance backwards as when Consul restores a
// snapshot. Blocked queries are not woken: they answer when their wait ends.
func (f *fakeConsul) setIndex(i uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = i
}

// forget drops a service and its checks, as an agent that lost its state.
func (f *fakeConsul) forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.services[id]; s != nil {
		f.stopChecks(s)
		delete(f.services, id)
		f.bump()
	}
}

// registration returns the last registration accepted for id.
func (f *fakeConsul) registration(id string) (fakeRegistration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[id]
	if s == nil {
		return fakeRegistration{}, false
	}
	return s.reg, true
}

// queryIndexes returns the index parameter of every health query so far.
func (f *fakeConsul) queryIndexes() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

func (f *fakeConsul) stopChecks(s *fakeService) {
	for _, c := range s.checks {
		if c.timer != nil {
			c.timer.Stop()
		}
		if c.stop != nil {
			close(c.stop)
			c.stop = nil
		}
	}
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), code)
}

func (f *fakeConsul) register(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		httpError(w, http.StatusInternalServerError, "agent down")
		return
	}
	var reg fakeRegistration
	if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
		httpError(w, http.StatusBadRequest, "Request decode failed: %v", err)
		return
	}
	if reg.Name == "" {
		httpError(w, http.StatusBadRequest, "Missing service name")
		return
	}
	if reg.ID == "" {
		reg.ID = reg.Name
	}
	defs := reg.Checks
	if reg.Check != nil {
		defs = append([]*fakeCheckDef{reg.Check}, defs...)
	}
	var checks []*fakeCheck
	for i, d := range defs {
		c := &fakeCheck{def: *d, status: api.HealthCritical}
		if c.def.CheckID == "" {
			c.def.CheckID = "service:" + reg.ID
			if len(defs) > 1 {
				c.def.CheckID += ":" + strconv.Itoa(i+1)
			}
		}
		switch {
		case d.TTL != "":
			ttl, err := time.ParseDuration(d.TTL)
			if err != nil || ttl <= 0 {
				httpError(w, http.StatusBadRequest, "Invalid check: TTL %q", d.TTL)
				return
			}
			c.ttl = ttl
		case d.HTTP != "":
			if _, err := time.ParseDuration(d.Interval); err != nil {
				httpError(w, http.StatusBadRequest, "Invalid check: Interval %q", d.Interval)
				return
			}
		default:
			httpError(w, http.StatusBadRequest, "Invalid check: only TTL and HTTP checks are faked")
			return
		}
		if d.Status != "" {
			c.status = d.Status
		}
		checks = append(checks, c)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	idx := f.bump()
	s := &fakeService{reg: reg, checks: checks, created: idx, modified: idx}
	if old := f.services[reg.ID]; old != nil {
		f.stopChecks(old)
		s.created = old.created
	}
	f.services[reg.ID] = s
	for _, c := range checks {
		c.modified = idx
		if c.ttl > 0 {
			c.timer = time.AfterFunc(c.ttl, func() { f.expire(s, c) })
		} else {
			c.stop = make(chan struct{})
			f.checks.Add(1)
			go f.runHTTPCheck(s, c, c.stop)
		}
	}
}

// expire marks a TTL check that was not updated in time critical.
func (f *fakeConsul) expire(s *fakeService, c *fakeCheck) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.services[s.reg.ID] != s {
		return
	}
	f.setStatus(c, api.HealthCritical, "TTL expired")
}

// setStatus changes a check's status. f.mu must be held.
func (f *fakeConsul) setStatus(c *fakeCheck, status, output string) {
	if c.status != status || c.output != output {
		c.status, c.output = status, output
		c.modified = f.bump()
	}
}

func (f *fakeConsul) runHTTPCheck(s *fakeService, c *fakeCheck, stop chan struct{}) {
	defer f.checks.Done()
	interval, _ := time.ParseDuration(c.def.Interval)
	timeout, err := time.ParseDuration(c.def.Timeout)
	if err != nil || timeout <= 0 {
		timeout = 10 * time.Second
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		status, output := api.HealthCritical, ""
		resp, err := client.Get(c.def.HTTP)
		if err != nil {
			output = err.Error()
		} else {
			resp.Body.Close()
			output = resp.Status
			switch {
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				status = api.HealthPassing
			case resp.StatusCode == http.StatusTooManyRequests:
				status = api.HealthWarning
			}
		}
		f.mu.Lock()
		if f.services[s.reg.ID] == s {
			f.setStatus(c, status, output)
		}
		f.mu.Unlock()
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
	}
}

func (f *fakeConsul) deregister(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[id]
	if s == nil {
		httpError(w, http.StatusNotFound, "Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)
		return
	}
	f.stopChecks(s)
	delete(f.services, id)
	f.bump()
}

func (f *fakeConsul) updateCheck(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		httpError(w, http.StatusInternalServerError, "agent down")
		return
	}
	id := r.PathValue("id")
	status, output := api.HealthPassing, r.URL.Query().Get("note")
	if strings.HasPrefix(r.URL.Path, "/v1/agent/check/update/") {
		var body struct{ Status, Output string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			httpError(w, http.StatusBadRequest, "Request decode failed: %v", err)
			return
		}
		switch body.Status {
		case api.HealthPassing, api.HealthWarning, api.HealthCritical:
		default:
			httpError(w, http.StatusBadRequest, "Invalid check status: %q", body.Status)
			return
		}
		status, output = body.Status, body.Output
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.services {
		for _, c := range s.checks {
			if c.def.CheckID != id {
				continue
			}
			if c.ttl == 0 {
				httpError(w, http.StatusInternalServerError, "CheckID %q does not have associated TTL", id)
				return
			}
			c.timer.Reset(c.ttl)
			f.setStatus(c, status, output)
			return
		}
	}
	httpError(w, http.StatusNotFound, "Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id)
}

func (f *fakeConsul) health(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if f.failing.Load() {
		httpError(w, http.StatusInternalServerError, "rpc error making call: No cluster leader")
		return
	}
	if dc := q.Get("dc"); dc != "" && dc != fakeDatacenter {
		httpError(w, http.StatusInternalServerError, "No path to datacenter")
		return
	}
	var index uint64
	if s := q.Get("index"); s != "" {
		var err error
		if index, err = strconv.ParseUint(s, 10, 64); err != nil {
			httpError(w, http.StatusBadRequest, "Invalid index: %q", s)
			return
		}
	}
	wait := 5 * time.Minute
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			httpError(w, http.StatusBadRequest, "Invalid wait time: %q", s)
			return
		}
		wait = min(d, 10*time.Minute)
	}
	_, passingOnly := q["passing"]

	f.mu.Lock()
	f.queries = append(f.queries, index)
	if index > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		for f.index <= index {
			changed := f.changed
			f.mu.Unlock()
			done := false
			select {
			case <-changed:
			case <-timer.C:
				done = true
			case <-r.Context().Done():
				done = true
			case <-f.closing:
				done = true
			}
			f.mu.Lock()
			if done {
				break
			}
		}
	}
	entries := f.entries(r.PathValue("name"), passingOnly)
	current := f.index
	f.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Consul-Index", strconv.FormatUint(current, 10))
	h.Set("X-Consul-KnownLeader", "true")
	h.Set("X-Consul-LastContact", "0")
	_ = json.NewEncoder(w).Encode(entries)
}

// entries builds the health results of a service. f.mu must be held.
func (f *fakeConsul) entries(name string, passingOnly bool) []fakeEntry {
	out := []fakeEntry{}
	ids := make([]string, 0, len(f.services))
	for id := range f.services {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := f.services[id]
		if s.reg.Name != name {
			continue
		}
		var e fakeEntry
		e.Node.Node, e.Node.Address, e.Node.Datacenter = fakeNode, "127.0.0.1", fakeDatacenter
		e.Service.ID, e.Service.Service, e.Service.Tags = s.reg.ID, s.reg.Name, s.reg.Tags
		e.Service.Address, e.Service.Port = s.reg.Address, s.reg.Port
		e.Service.Meta, e.Service.TaggedAddresses = s.reg.Meta, s.reg.TaggedAddresses
		e.Service.CreateIndex, e.Service.ModifyIndex = s.created, s.modified
		e.Checks = append(e.Checks, fakeHealthCheck{
			Node: fakeNode, CheckID: "serfHealth", Name: "Serf Health Status", Status: api.HealthPassing,
			Output: "Agent alive and reachable", Type: "serf",
		})
		passing := true
		for _, c := range s.checks {
			typ := "ttl"
			if c.ttl == 0 {
				typ = "http"
			}
			e.Checks = append(e.Checks, fakeHealthCheck{
				Node: fakeNode, CheckID: c.def.CheckID, Name: c.def.Name, Status: c.status, Notes: c.def.Notes,
				Output: c.output, ServiceID: s.reg.ID, ServiceName: s.reg.Name, ServiceTags: s.reg.Tags, Type: typ,
				CreateIndex: s.created, ModifyIndex: c.modified,
			})
			passing = passing && c.status == api.HealthPassing
		}
		if passingOnly && !passing {
			continue
		}
		out = append(out, e)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// restart is an agent restarted without its state: it is down for a
// moment, then knows no service, as an agent whose data directory was
// lost. Registrars register again from their next heartbeat.
func (f *fakeConsul) restart() {
	f.down.Store(true)
	f.failing.Store(true)
	f.mu.Lock()
	for id, s := range f.services {
		f.stopChecks(s)
		delete(f.services, id)
	}
	f.bump()
	f.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	f.down.Store(false)
	f.failing.Store(false)
}
