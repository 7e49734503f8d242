package eureka_test

// This file is an in-process fake of the parts of Eureka's REST API that
// the registry uses, written from Eureka's REST operations documentation
// (JSON, under /eureka/v2):
//
//   - POST   /apps/{appID}              register an instance ({"instance": {...}}), 204
//   - PUT    /apps/{appID}/{instanceID} heartbeat, 200, or 404 if unknown
//   - DELETE /apps/{appID}/{instanceID} deregister, 200, or 404 if unknown
//   - GET    /apps/{appID}              the application's instances, 404 if none
//   - GET    /apps                      every application
//
// An instance not renewed within its lease (leaseInfo.durationInSecs) is
// evicted at the next request, where Eureka evicts on a 60s timer; an
// application with one instance lists it as an object, not a list of one,
// as XStream-based servers do. It is not Eureka: one server, no
// replication, no self-preservation, no status overrides.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeInstance struct {
	info    map[string]any // as registered
	renewed time.Time
	lease   time.Duration
}

// fakeEureka is the fake server.
type fakeEureka struct {
	srv  *httptest.Server
	down atomic.Bool // every request fails with 503

	mu    sync.Mutex
	apps  map[string]map[string]*fakeInstance // APP -> instance ID -> instance
	beats map[string]int                      // APP/ID -> heartbeats received
}

// newFakeEureka starts a fake that is closed when the test ends.
func newFakeEureka(t *testing.T) *fakeEureka {
	t.Helper()
	f := startFakeEureka()
	t.Cleanup(f.close)
	return f
}

// startFakeEureka starts a fake; close it with close.
func startFakeEureka() *fakeEureka {
	f := &fakeEureka{apps: make(map[string]map[string]*fakeInstance), beats: make(map[string]int)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /eureka/v2/apps/{app}", f.register)
	mux.HandleFunc("PUT /eureka/v2/apps/{app}/{id}", f.renew)
	mux.HandleFunc("DELETE /eureka/v2/apps/{app}/{id}", f.cancel)
	mux.HandleFunc("GET /eureka/v2/apps/{app}", f.application)
	mux.HandleFunc("GET /eureka/v2/apps", f.applications)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		f.evict()
		mux.ServeHTTP(w, r)
	}))
	return f
}

func (f *fakeEureka) close() {
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// url is the base URL of the fake's REST API.
func (f *fakeEureka) url() string { return f.srv.URL + "/eureka/v2" }

// evict drops the instances whose lease ran out.
func (f *fakeEureka) evict() {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for app, ins := range f.apps {
		for id, in := range ins {
			if now.Sub(in.renewed) > in.lease {
				delete(ins, id)
			}
		}
		if len(ins) == 0 {
			delete(f.apps, app)
		}
	}
}

// restart is a server restarted: down for a moment, then without any
// instance (Eureka keeps its registry in memory only).
func (f *fakeEureka) restart() {
	f.down.Store(true)
	f.mu.Lock()
	f.apps = make(map[string]map[string]*fakeInstance)
	f.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	f.down.Store(false)
}

// instance returns the registered JSON of an instance, or nil.
func (f *fakeEureka) instance(app, id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.apps[app][id]; in != nil {
		return in.info
	}
	return nil
}

func (f *fakeEureka) heartbeats(app, id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.beats[app+"/"+id]
}

func (f *fakeEureka) register(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "want application/json, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body struct {
		Instance map[string]any `json:"instance"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Instance == nil {
		http.Error(w, "malformed instance", http.StatusBadRequest)
		return
	}
	in := body.Instance
	// Eureka answers 400 to an instance without these, or whose data
	// center has no name.
	for _, k := range []string{"instanceId", "hostName", "app", "ipAddr", "dataCenterInfo"} {
		if v, ok := in[k]; !ok || v == "" || v == nil {
			http.Error(w, "missing "+k, http.StatusBadRequest)
			return
		}
	}
	if dc, _ := in["dataCenterInfo"].(map[string]any); dc["name"] == nil || dc["name"] == "" {
		http.Error(w, "missing dataCenterInfo name", http.StatusBadRequest)
		return
	}
	app := r.PathValue("app")
	if !strings.EqualFold(in["app"].(string), app) {
		http.Error(w, "app does not match the path", http.StatusBadRequest)
		return
	}
	lease := 90 * time.Second
	if li, ok := in["leaseInfo"].(map[string]any); ok {
		if d, ok := li["durationInSecs"].(float64); ok && d > 0 {
			lease = time.Duration(d) * time.Second
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	app = strings.ToUpper(app)
	if f.apps[app] == nil {
		f.apps[app] = make(map[string]*fakeInstance)
	}
	in["app"] = app
	f.apps[app][in["instanceId"].(string)] = &fakeInstance{info: in, renewed: time.Now(), lease: lease}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeEureka) renew(w http.ResponseWriter, r *http.Request) {
	app, id := strings.ToUpper(r.PathValue("app")), r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beats[app+"/"+id]++
	in := f.apps[app][id]
	if in == nil {
		http.Error(w, "", http.StatusNotFound)
		return
	}
	in.renewed = time.Now()
	w.WriteHeader(http.StatusOK)
}

func (f *fakeEureka) cancel(w http.ResponseWriter, r *http.Request) {
	app, id := strings.ToUpper(r.PathValue("app")), r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps[app][id] == nil {
		http.Error(w, "", http.StatusNotFound)
		return
	}
	delete(f.apps[app], id)
	if len(f.apps[app]) == 0 {
		delete(f.apps, app)
	}
	w.WriteHeader(http.StatusOK)
}

// appJSON is an application as Eureka writes it; one instance is written
// as an object. f.mu must be held.
func (f *fakeEureka) appJSON(app string) map[string]any {
	ids := make([]string, 0, len(f.apps[app]))
	for id := range f.apps[app] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	list := make([]any, 0, len(ids))
	for _, id := range ids {
		list = append(list, f.apps[app][id].info)
	}
	var instances any = list
	if len(list) == 1 {
		instances = list[0]
	}
	return map[string]any{"name": app, "instance": instances}
}

func (f *fakeEureka) application(w http.ResponseWriter, r *http.Request) {
	app := strings.ToUpper(r.PathValue("app"))
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.apps[app]) == 0 {
		http.Error(w, "", http.StatusNotFound)
		return
	}
	writeJSON(w, map[string]any{"application": f.appJSON(app)})
}

func (f *fakeEureka) applications(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	apps := make([]any, 0, len(f.apps))
	for app := range f.apps {
		apps = append(apps, f.appJSON(app))
	}
	writeJSON(w, map[string]any{"applications": map[string]any{"versions__delta": "1", "application": apps}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
