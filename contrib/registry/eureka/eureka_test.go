package eureka_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zelos-go/zelos/contrib/registry/eureka"
	"github.com/zelos-go/zelos/registry"
)

func instance(name, id string) *registry.ServiceInstance {
	return &registry.ServiceInstance{
		ID:        id,
		Name:      name,
		Version:   "v1.2.3",
		Metadata:  map[string]string{"zone": "a"},
		Endpoints: []string{"http://10.0.0.5:8000", "grpc://10.0.0.5:9000"},
	}
}

func ids(list []*registry.ServiceInstance) string {
	s := make([]string, len(list))
	for i, in := range list {
		s[i] = in.ID
	}
	return strings.Join(s, ",")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The registration carries what Eureka requires, with the instance's
// address and port from its first endpoint, and what Eureka has no field
// for in metadata.
func TestRegistrationJSON(t *testing.T) {
	f := newFakeEureka(t)
	r := newRegistry(t, f)
	if err := r.Register(context.Background(), instance("greeter", "g-1")); err != nil {
		t.Fatal(err)
	}
	in := f.instance("GREETER", "g-1")
	if in == nil {
		t.Fatal("g-1 is not registered under GREETER")
	}
	for k, want := range map[string]any{
		"instanceId": "g-1", "app": "GREETER", "hostName": "10.0.0.5", "ipAddr": "10.0.0.5",
		"vipAddress": "greeter", "status": "UP", "homePageUrl": "http://10.0.0.5:8000/",
	} {
		if in[k] != want {
			t.Errorf("%s = %v; want %v", k, in[k], want)
		}
	}
	port, _ := in["port"].(map[string]any)
	if port["$"] != float64(8000) || port["@enabled"] != "true" {
		t.Errorf("port = %v; want 8000, enabled", in["port"])
	}
	lease, _ := in["leaseInfo"].(map[string]any)
	if lease["durationInSecs"] != float64(1) || lease["renewalIntervalInSecs"] != float64(1) {
		t.Errorf("leaseInfo = %v; want duration 1s and renewal 1s (whole seconds)", in["leaseInfo"])
	}
	dc, _ := in["dataCenterInfo"].(map[string]any)
	if dc["name"] != "MyOwn" || !strings.Contains(dc["@class"].(string), "DefaultDataCenterInfo") {
		t.Errorf("dataCenterInfo = %v", in["dataCenterInfo"])
	}
	meta, _ := in["metadata"].(map[string]any)
	if meta["zone"] != "a" || meta["zelos_name"] != "greeter" || meta["zelos_version"] != "v1.2.3" ||
		meta["zelos_endpoints"] != "http://10.0.0.5:8000,grpc://10.0.0.5:9000" {
		t.Errorf("metadata = %v", meta)
	}
}

// Heartbeats renew the lease, so a live instance outlives several leases.
func TestHeartbeatKeepsInstance(t *testing.T) {
	f := newFakeEureka(t)
	r := newRegistry(t, f)
	if err := r.Register(context.Background(), instance("svc", "a")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * lease)
	list, err := r.GetService(context.Background(), "svc")
	if err != nil || ids(list) != "a" {
		t.Fatalf("GetService after three leases = [%s], %v; want [a]", ids(list), err)
	}
	if n := f.heartbeats("SVC", "a"); n < 5 {
		t.Fatalf("%d heartbeats in three leases; want about 10", n)
	}
}

// An application that Zelos did not register (a Java service, say) is
// listed with endpoints made of its address and enabled ports; instances
// not UP are left out.
func TestForeignInstances(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/eureka/apps/BILLING" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"application":{"name":"BILLING","instance":[
			{"instanceId":"b-1","hostName":"b1.local","app":"BILLING","ipAddr":"10.0.0.7","status":"UP",
			 "port":{"$":"8080","@enabled":"true"},"securePort":{"$":8443,"@enabled":"true"},
			 "metadata":{"management.port":"8081"}},
			{"instanceId":"b-2","hostName":"b2.local","app":"BILLING","ipAddr":"10.0.0.8","status":"DOWN",
			 "port":{"$":8080,"@enabled":"true"}}]}}`))
	}))
	defer srv.Close()
	r, err := eureka.New([]string{srv.URL + "/eureka/"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	list, err := r.GetService(context.Background(), "billing")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("GetService = [%s]; want only the UP instance b-1", ids(list))
	}
	got := list[0]
	if got.ID != "b-1" || got.Name != "billing" || got.Metadata["management.port"] != "8081" ||
		strings.Join(got.Endpoints, " ") != "http://10.0.0.7:8080 https://10.0.0.7:8443" {
		t.Fatalf("b-1 = %+v", got)
	}
}

// Requests fail over to the next server when one is down or answers 5xx,
// but not on a 4xx, which is the answer.
func TestFailover(t *testing.T) {
	f := newFakeEureka(t)
	var hits atomic.Int32
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	r, err := eureka.New([]string{broken.URL + "/eureka/v2", "http://127.0.0.1:1/eureka/v2", f.url()},
		eureka.WithLease(lease), eureka.WithHeartbeat(heartbeat), eureka.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	a := instance("svc", "a")
	if err := r.Register(ctx, a); err != nil {
		t.Fatal(err)
	}
	if f.instance("SVC", "a") == nil || hits.Load() == 0 {
		t.Fatalf("registered: %v, broken server hit %d times; want registered past the broken servers", f.instance("SVC", "a") != nil, hits.Load())
	}
	if err := r.Deregister(ctx, a); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	f := newFakeEureka(t)
	ctx := context.Background()

	t.Run("New", func(t *testing.T) {
		for _, eps := range [][]string{nil, {"eureka:8761"}, {"ftp://x/eureka"}, {"http://"}} {
			if _, err := eureka.New(eps); err == nil || !strings.HasPrefix(err.Error(), "eureka: ") {
				t.Errorf("New(%q) = %v; want an eureka: error", eps, err)
			}
		}
	})
	t.Run("ReservedMetadata", func(t *testing.T) {
		r := newRegistry(t, f)
		in := instance("svc", "a")
		in.Metadata["zelos_name"] = "other"
		if err := r.Register(ctx, in); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Fatalf("Register with a zelos_ metadata key = %v; want an error naming it reserved", err)
		}
	})
	t.Run("MalformedReply", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"application":{"instance":"oops"`))
		}))
		defer srv.Close()
		r, err := eureka.New([]string{srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.GetService(ctx, "svc"); err == nil || !strings.HasPrefix(err.Error(), "eureka: ") {
			t.Fatalf("GetService of a malformed reply = %v; want an eureka: error", err)
		}
		if _, err := r.Watch(ctx, "svc"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("RefusedRegistration", func(t *testing.T) {
		r := newRegistry(t, f)
		in := instance("svc", "a")
		in.Endpoints = nil // still valid: Eureka gets localhost
		if err := r.Register(ctx, in); err != nil {
			t.Fatalf("Register without endpoints: %v", err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "missing hostName", http.StatusBadRequest)
		}))
		defer srv.Close()
		bad, err := eureka.New([]string{srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		if err := bad.Register(ctx, instance("svc", "a")); err == nil || !strings.Contains(err.Error(), "status 400: missing hostName") {
			t.Fatalf("Register refused with 400 = %v; want the status and body", err)
		}
	})
	t.Run("Closed", func(t *testing.T) {
		r := newRegistry(t, f)
		_ = r.Close()
		if err := r.Register(ctx, instance("svc", "a")); !errors.Is(err, eureka.ErrClosed) {
			t.Errorf("Register after Close = %v; want ErrClosed", err)
		}
		if _, err := r.GetService(ctx, "svc"); !errors.Is(err, eureka.ErrClosed) {
			t.Errorf("GetService after Close = %v; want ErrClosed", err)
		}
		if _, err := r.Watch(ctx, "svc"); !errors.Is(err, eureka.ErrClosed) {
			t.Errorf("Watch after Close = %v; want ErrClosed", err)
		}
	})
}

// While Eureka is down a watcher keeps waiting instead of reporting an
// empty list or failing, and reports the list again once it is back.
func TestWatchDuringOutage(t *testing.T) {
	f := newFakeEureka(t)
	r := newRegistry(t, f)
	ctx := context.Background()
	if err := r.Register(ctx, instance("svc", "a")); err != nil {
		t.Fatal(err)
	}
	w, err := r.Watch(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if list, err := w.Next(); err != nil || ids(list) != "a" {
		t.Fatalf("first Next = [%s], %v", ids(list), err)
	}
	type res struct {
		list []*registry.ServiceInstance
		err  error
	}
	ch := make(chan res, 1)
	f.down.Store(true)
	go func() {
		l, err := w.Next()
		ch <- res{l, err}
	}()
	select {
	case got := <-ch:
		t.Fatalf("Next during the outage = [%s], %v; want it to wait", ids(got.list), got.err)
	case <-time.After(10 * refresh):
	}
	f.down.Store(false)
	if err := r.Register(ctx, instance("svc", "b")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if got.err != nil || ids(got.list) != "a,b" {
			t.Fatalf("Next after the outage = [%s], %v; want [a,b]", ids(got.list), got.err)
		}
	case <-time.After(wait):
		_ = w.Stop()
		<-ch
		t.Fatal("Next did not report the change after the outage")
	}
}
