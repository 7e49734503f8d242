package deploy

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	istionet "istio.io/client-go/pkg/apis/networking/v1"
	istiosec "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
)

// serviceHost is a Service's in-cluster name, as the Istio objects write it.
func serviceHost(name string) string { return name + ".shop.svc.cluster.local" }

// TestVirtualServicesDoNotRetry: Zelos retries (the gateway's GETs and
// Idempotency-Key requests, order's gRPC clients), so every mesh route sets retries.attempts
// to 0, explicitly, rather than inheriting Envoy's default of 2.
func TestVirtualServicesDoNotRetry(t *testing.T) {
	objs := loadObjects(t)
	vss, from := ofType[*istionet.VirtualService](objs)
	svcs, _ := ofType[*corev1.Service](objs)
	hosts := map[string]bool{}
	for _, s := range svcs {
		hosts[serviceHost(s.Name)] = true
	}
	routed := map[string]bool{}
	for i, vs := range vss {
		t.Run(vs.Name, func(t *testing.T) {
			if len(vs.Spec.Http) == 0 || len(vs.Spec.Tcp) > 0 || len(vs.Spec.Tls) > 0 {
				t.Fatalf("%s: %d http, %d tcp, %d tls routes, want http only", from[i], len(vs.Spec.Http), len(vs.Spec.Tcp), len(vs.Spec.Tls))
			}
			for _, h := range vs.Spec.Hosts {
				routed[h] = true
			}
			for _, r := range vs.Spec.Http {
				if r.Retries == nil || r.Retries.Attempts != 0 {
					t.Errorf("route %q: retries %v, want attempts: 0 (Zelos retries)", r.Name, r.Retries)
				}
				if len(r.Route) == 0 {
					t.Errorf("route %q: no destination", r.Name)
				}
				for _, d := range r.Route {
					if !hosts[d.Destination.GetHost()] {
						t.Errorf("route %q: destination %q is no Service of the shop", r.Name, d.Destination.GetHost())
					}
				}
			}
		})
	}
	for _, name := range shopWorkloads() {
		if !routed[serviceHost(name)] {
			t.Errorf("no VirtualService for %s", serviceHost(name))
		}
	}
}

// TestIngressRoutesToTheGateway: the tutorial's entry VirtualService,
// with every public prefix going to the zelos gateway on its HTTP port.
func TestIngressRoutesToTheGateway(t *testing.T) {
	vss, _ := ofType[*istionet.VirtualService](loadObjects(t))
	var ingress *istionet.VirtualService
	for _, vs := range vss {
		if len(vs.Spec.Gateways) > 0 {
			ingress = vs
		}
	}
	if ingress == nil {
		t.Fatal("no VirtualService bound to an Istio Gateway")
	}
	matched := map[string]bool{}
	for _, r := range ingress.Spec.Http {
		for _, d := range r.Route {
			if d.Destination.GetHost() != serviceHost("gateway") || d.Destination.GetPort().GetNumber() != httpPort {
				t.Errorf("route %q goes to %s:%d, want %s:%d", r.Name, d.Destination.GetHost(),
					d.Destination.GetPort().GetNumber(), serviceHost("gateway"), httpPort)
			}
		}
		for _, m := range r.Match {
			matched[m.GetUri().GetPrefix()+m.GetUri().GetExact()] = true
		}
	}
	for _, p := range []string{"/api/v1/users", "/api/v1/login", "/api/v1/products", "/api/v1/orders", "/api/v1/chat"} {
		if !matched[p] {
			t.Errorf("the public path %s is not routed (routes match %v)", p, matched)
		}
	}

	// Every route of the zelos gateway's own config is reachable through
	// the ingress, so the mesh never answers 404 for a path the gateway
	// serves.
	cm := configMapByName(loadObjects(t), "gateway-config")
	if cm == nil {
		t.Fatal("no ConfigMap gateway-config")
	}
	var gw struct {
		Endpoints []struct {
			Path   string `yaml:"path"`
			Prefix string `yaml:"prefix"`
		} `yaml:"endpoints"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["gateway.yaml"]), &gw); err != nil {
		t.Fatal(err)
	}
	if len(gw.Endpoints) == 0 {
		t.Fatal("the gateway config has no endpoints")
	}
	if ingressRoutes(ingress, "/debug/pprof/") {
		t.Error("the ingress routes /debug/pprof/: only the shop's API is public")
	}
	for _, ep := range gw.Endpoints {
		// A template's literal head: /api/v1/users/{id} -> /api/v1/users/.
		route, _, _ := strings.Cut(ep.Path+ep.Prefix, "{")
		if !ingressRoutes(ingress, route) {
			t.Errorf("the gateway serves %s%s, which no ingress route matches", ep.Path, ep.Prefix)
		}
	}
}

// ingressRoutes reports whether a route of vs matches path: an exact
// match, or a prefix of it.
func ingressRoutes(vs *istionet.VirtualService, path string) bool {
	for _, r := range vs.Spec.Http {
		for _, m := range r.Match {
			if u := m.GetUri(); u.GetExact() == path || (u.GetPrefix() != "" && strings.HasPrefix(path, u.GetPrefix())) {
				return true
			}
		}
	}
	return false
}

// TestDestinationRules: each shop Service has one, with a connection pool
// and the outlier detection of the contract (5 consecutive 5xx, every
// 10 s, ejected 30 s: the Zelos selector's EjectAfter).
func TestDestinationRules(t *testing.T) {
	drs, _ := ofType[*istionet.DestinationRule](loadObjects(t))
	byHost := map[string]*istionet.DestinationRule{}
	for _, dr := range drs {
		byHost[dr.Spec.Host] = dr
	}
	for _, name := range shopWorkloads() {
		t.Run(name, func(t *testing.T) {
			dr := byHost[serviceHost(name)]
			if dr == nil {
				t.Fatalf("no DestinationRule for %s", serviceHost(name))
			}
			tp := dr.Spec.TrafficPolicy
			if tp.GetConnectionPool().GetTcp() == nil || tp.GetConnectionPool().GetHttp() == nil {
				t.Errorf("connectionPool %v, want tcp and http limits", tp.GetConnectionPool())
			}
			od := tp.GetOutlierDetection()
			if od == nil {
				t.Fatal("no outlierDetection")
			}
			if got := od.GetConsecutive_5XxErrors().GetValue(); got != 5 {
				t.Errorf("consecutive5xxErrors %d, want 5", got)
			}
			if got := od.GetInterval().AsDuration(); got != 10*time.Second {
				t.Errorf("interval %v, want 10s", got)
			}
			if got := od.GetBaseEjectionTime().AsDuration(); got != 30*time.Second {
				t.Errorf("baseEjectionTime %v, want 30s", got)
			}
		})
	}
}

// TestIstioObjectsAreInTheIstioDirectory keeps the mesh apart, so a
// cluster without Istio drops one kustomization line.
func TestIstioObjectsAreInTheIstioDirectory(t *testing.T) {
	for _, o := range loadObjects(t) {
		var mesh bool
		switch o.obj.(type) {
		case *istionet.VirtualService, *istionet.DestinationRule, *istionet.Gateway, *istiosec.PeerAuthentication:
			mesh = true
		}
		if inIstioDir := strings.HasPrefix(o.file, k8sDir+"/istio/"); mesh != inIstioDir {
			t.Errorf("%s: %T is an Istio object: %v, in k8s/istio/: %v", o, o.obj, mesh, inIstioDir)
		}
	}
}
