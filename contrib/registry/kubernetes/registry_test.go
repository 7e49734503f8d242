package kubernetes_test

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	zk8s "github.com/zelos-go/zelos/contrib/registry/kubernetes"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ns = "prod"

// cluster is the fake clientset with the part of the control plane the
// tests need: the fake has no EndpointSlice controller, so the tests'
// Registrar writes the slices that controller would write for a ready pod,
// and no API server, so restart ends every watch as a restarting API
// server does.
type cluster struct {
	client  *fake.Clientset
	mu      sync.Mutex
	watches []watch.Interface
}

func newCluster(t *testing.T, objs ...runtime.Object) *cluster {
	t.Helper()
	c := &cluster{client: fake.NewClientset(objs...)}
	c.client.PrependWatchReactor("endpointslices", func(a k8stesting.Action) (bool, watch.Interface, error) {
		wa := a.(k8stesting.WatchActionImpl)
		iw, err := c.client.Tracker().Watch(wa.GetResource(), wa.GetNamespace(),
			metav1.ListOptions{ResourceVersion: wa.WatchRestrictions.ResourceVersion})
		if err == nil {
			c.mu.Lock()
			c.watches = append(c.watches, iw)
			c.mu.Unlock()
		}
		return true, iw, err
	})
	return c
}

func (c *cluster) restart(*testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, iw := range c.watches {
		iw.Stop()
	}
	c.watches = nil
}

// slice is the EndpointSlice the controller writes for the pod that runs
// in: one endpoint, one port per endpoint URL scheme.
func slice(t *testing.T, in *registry.ServiceInstance, ready bool) *discoveryv1.EndpointSlice {
	t.Helper()
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: in.ID, Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: in.Name,
			discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	ep := discoveryv1.Endpoint{
		Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: in.ID},
	}
	if z := in.Metadata["zone"]; z != "" {
		ep.Zone = &z
	}
	for _, e := range in.Endpoints {
		u, err := url.Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		host, portStr, _ := net.SplitHostPort(u.Host)
		port, _ := strconv.Atoi(portStr)
		if !slices.Contains(ep.Addresses, host) {
			ep.Addresses = append(ep.Addresses, host)
		}
		name, p := u.Scheme, int32(port)
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: &name, Port: &p})
	}
	s.Endpoints = []discoveryv1.Endpoint{ep}
	return s
}

func (c *cluster) put(t *testing.T, s *discoveryv1.EndpointSlice) error {
	t.Helper()
	ctx := context.Background()
	_, err := c.client.DiscoveryV1().EndpointSlices(ns).Update(ctx, s, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, s, metav1.CreateOptions{})
	}
	return err
}

// pod is the Registrar of one test process: the Registry's no-op
// Register, followed by what the control plane does for its pod.
type pod struct {
	*zk8s.Registry
	t       *testing.T
	c       *cluster
	mu      sync.Mutex
	running map[string]*registry.ServiceInstance
}

func (p *pod) Register(ctx context.Context, in *registry.ServiceInstance) error {
	if err := p.Registry.Register(ctx, in); err != nil {
		return err
	}
	p.mu.Lock()
	p.running[in.ID] = in
	p.mu.Unlock()
	return p.c.put(p.t, slice(p.t, in, true)) // the pod became ready
}

func (p *pod) Deregister(ctx context.Context, in *registry.ServiceInstance) error {
	if err := p.Registry.Deregister(ctx, in); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.running, in.ID)
	p.mu.Unlock()
	// The pod terminated and was removed with its endpoint.
	err := p.c.client.DiscoveryV1().EndpointSlices(ns).Delete(ctx, in.ID, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// crash is a process that died: its readiness probe fails, and the
// controller marks its endpoints not ready.
func (p *pod) crash(t *testing.T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range p.running {
		if err := p.c.put(t, slice(t, in, false)); err != nil {
			t.Fatal(err)
		}
	}
}

// equal compares what EndpointSlices carry: ID, name, endpoints and zone.
func equal(want, got *registry.ServiceInstance) bool {
	return want.ID == got.ID && want.Name == got.Name &&
		slices.Equal(slices.Sorted(slices.Values(want.Endpoints)), got.Endpoints) &&
		want.Metadata["zone"] == got.Metadata["zone"]
}

func TestContract(t *testing.T) {
	c := newCluster(t)
	registrytest.Run(t, registrytest.Harness{
		NewRegistrar: func(t *testing.T) registry.Registrar {
			return &pod{Registry: zk8s.New(c.client, zk8s.WithNamespace(ns)), t: t, c: c, running: map[string]*registry.ServiceInstance{}}
		},
		NewDiscovery: func(*testing.T) registry.Discovery { return zk8s.New(c.client, zk8s.WithNamespace(ns)) },
		Crash:        func(t *testing.T, r registry.Registrar) { r.(*pod).crash(t) },
		Restart:      c.restart,
		Equal:        equal,
		// EndpointSlices carry no version: a new version of a pod shows as
		// other ports (a new pod would show as another address).
		Instance: func(name, id, version string) *registry.ServiceInstance {
			port := map[string]int{"v1": 0, "v2": 2}[version]
			return &registry.ServiceInstance{
				ID: id, Name: name, Version: version,
				Metadata: map[string]string{"zone": "z1"},
				Endpoints: []string{
					"grpc://127.0.0.1:" + strconv.Itoa(9000+port),
					"http://127.0.0.1:" + strconv.Itoa(8000+port),
				},
			}
		},
		Wait: 10 * time.Second,
	})
}

func ptr[T any](v T) *T { return &v }

// TestInstances checks how slices become instances.
func TestInstances(t *testing.T) {
	labels := map[string]string{discoveryv1.LabelServiceName: "greeter"}
	c := newCluster(t,
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "greeter-v4", Namespace: ns, Labels: labels},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{
				{Name: ptr("grpc-api"), Port: ptr(int32(9000))},
				{Name: ptr("metrics"), AppProtocol: ptr("http"), Port: ptr(int32(8000))},
				{Name: ptr("all"), Port: nil},
			},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.0.0.1"}, TargetRef: &corev1.ObjectReference{Name: "pod-a"}, Zone: ptr("z1"), NodeName: ptr("node-1")},
				{Addresses: []string{"10.0.0.2"}, TargetRef: &corev1.ObjectReference{Name: "pod-b"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
				{Addresses: []string{"10.0.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}},
			},
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "greeter-v6", Namespace: ns, Labels: labels},
			AddressType: discoveryv1.AddressTypeIPv6,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("grpc-api"), Port: ptr(int32(9000))}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"fd00::1"}, TargetRef: &corev1.ObjectReference{Name: "pod-a"}}},
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "unnamed", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "single"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Port: ptr(int32(80)), AppProtocol: ptr("kubernetes.io/h2c")}, {Port: ptr(int32(81))}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.1.1"}}},
		},
	)
	r := zk8s.New(c.client, zk8s.WithNamespace(ns), zk8s.WithDefaultScheme("http"))
	tests := []struct {
		service string
		want    []string // "id endpoints... zone node"
	}{
		{"greeter", []string{
			"10.0.0.3 [grpc://10.0.0.3:9000 http://10.0.0.3:8000] map[]",
			"pod-a [grpc://10.0.0.1:9000 grpc://[fd00::1]:9000 http://10.0.0.1:8000] map[node:node-1 zone:z1]",
		}},
		{"single", []string{"10.0.1.1 [h2c://10.0.1.1:80 http://10.0.1.1:81] map[]"}},
		{"nobody", nil},
	}
	for _, tc := range tests {
		t.Run(tc.service, func(t *testing.T) {
			list, err := r.GetService(context.Background(), tc.service)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range list {
				if in.Name != tc.service {
					t.Errorf("instance %s has name %q", in.ID, in.Name)
				}
				got = append(got, in.ID+" "+strings.Join([]string{"[" + strings.Join(in.Endpoints, " ") + "]", mapString(in.Metadata)}, " "))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func mapString(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, k+":"+m[k])
	}
	return "map[" + strings.Join(parts, " ") + "]"
}

// TestRegisterIsNoop checks that registration never calls the API.
func TestRegisterIsNoop(t *testing.T) {
	c := newCluster(t)
	r := zk8s.New(c.client, zk8s.WithNamespace(ns))
	in := &registry.ServiceInstance{ID: "greeter-1", Name: "greeter", Endpoints: []string{"grpc://10.0.0.1:9000"}}
	if err := r.Register(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if a := c.client.Actions(); len(a) != 0 {
		t.Errorf("Register and Deregister made %d API calls: %v", len(a), a)
	}
}

func forbidden(verb string) error {
	return apierrors.NewForbidden(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "",
		&rbacError{`User "system:serviceaccount:prod:greeter" cannot ` + verb + ` resource "endpointslices"`})
}

type rbacError struct{ s string }

func (e *rbacError) Error() string { return e.s }

// TestForbidden checks that a missing RBAC rule is reported with its verb.
func TestForbidden(t *testing.T) {
	t.Run("list", func(t *testing.T) {
		c := newCluster(t)
		c.client.PrependReactor("list", "endpointslices", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, forbidden("list")
		})
		r := zk8s.New(c.client, zk8s.WithNamespace(ns))
		_, err := r.GetService(context.Background(), "greeter")
		if err == nil || !strings.Contains(err.Error(), `grant it the "list" verb on "endpointslices"`) || !apierrors.IsForbidden(err) {
			t.Errorf("GetService: %v", err)
		}
		if _, err := r.Watch(context.Background(), "greeter"); err == nil || !strings.Contains(err.Error(), `"list" verb`) {
			t.Errorf("Watch: %v", err)
		}
	})
	t.Run("watch", func(t *testing.T) {
		c := newCluster(t)
		c.client.PrependWatchReactor("endpointslices", func(k8stesting.Action) (bool, watch.Interface, error) {
			return true, nil, forbidden("watch")
		})
		r := zk8s.New(c.client, zk8s.WithNamespace(ns))
		if _, err := r.Watch(context.Background(), "greeter"); err == nil || !strings.Contains(err.Error(), `grant it the "watch" verb on "endpointslices"`) {
			t.Errorf("Watch: %v", err)
		}
	})
}

// TestWatchErrors checks that 410 Gone makes the watcher list again and
// that any other error event is returned.
func TestWatchErrors(t *testing.T) {
	in := &registry.ServiceInstance{ID: "pod-a", Name: "greeter", Endpoints: []string{"grpc://10.0.0.1:9000"}}
	c := newCluster(t)
	started := make(chan *watch.FakeWatcher, 4)
	c.client.PrependWatchReactor("endpointslices", func(k8stesting.Action) (bool, watch.Interface, error) {
		fw := watch.NewFakeWithChanSize(4, false)
		started <- fw
		return true, fw, nil
	})
	w, err := zk8s.New(c.client, zk8s.WithNamespace(ns)).Watch(context.Background(), "greeter")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if list, err := w.Next(); err != nil || len(list) != 0 {
		t.Fatalf("first Next = %v, %v", list, err)
	}
	first := <-started
	if err := c.put(t, slice(t, in, true)); err != nil {
		t.Fatal(err)
	}
	first.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired})
	list, err := w.Next()
	if err != nil || len(list) != 1 || list[0].ID != "pod-a" {
		t.Fatalf("Next after 410 = %v, %v", list, err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := w.Next()
		errs <- err
	}()
	second := <-started
	second.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 500, Message: "etcd is down"})
	if err := <-errs; err == nil || !strings.HasPrefix(err.Error(), "registry/kubernetes: watch endpointslices of service prod/greeter") {
		t.Errorf("Next after an error event: %v", err)
	}
}
