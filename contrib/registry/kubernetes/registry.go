// Package kubernetes provides a registry.Discovery that finds the
// instances of a service through the EndpointSlices of the Kubernetes
// Service of that name, and a registry.Registrar that leaves registration
// to Kubernetes.
//
//	client, err := kubernetes.NewForConfig(restConfig) // k8s.io/client-go/kubernetes
//	if err != nil { ... }
//	r := zk8s.New(client)
//	app := zelos.New(zelos.Registrar(r), ...)
//	conn, err := grpc.DialInsecure(ctx, grpc.WithEndpoint("discovery:///greeter"), grpc.WithDiscovery(r))
//
// # Why registration is a no-op
//
// In Kubernetes, the control plane already registers every pod: the
// EndpointSlice controller lists a pod in its Service's EndpointSlices once
// its readiness probe passes, marks it not ready when the probe fails or
// the pod terminates, and removes it with the pod. That is the
// registration, heartbeat and expiry other registries implement, done
// where it cannot drift from what the kubelet knows. Registering from the
// process as well would mean letting pods patch pods (to label themselves),
// a permission with which a compromised pod can relabel others into a
// Service's selector. So Register and Deregister only check the instance
// and return; the instance's ID, version and metadata stay local.
//
// # What discovery reports
//
// Each ready endpoint (conditions.ready unset or true) of the slices
// labelled kubernetes.io/service-name=<service> is one instance: ID is the
// pod's name (or the address, without a targetRef), Name the service, and
// Endpoints one URL per slice port, scheme://address:port, where the
// scheme is the port's appProtocol or name up to its first '-' ("grpc",
// "grpc-api" and "http-metrics" give grpc, grpc and http; a domain prefix
// such as "kubernetes.io/" is dropped); an unnamed
// port gives WithDefaultScheme. Metadata holds "zone" and "node" where the
// slice says them. Endpoints of one pod in several slices (IPv4 and IPv6)
// are merged into one instance. Version is empty: EndpointSlices do not
// carry it.
package kubernetes

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/zelos-go/zelos/registry"
)

// Option configures a Registry.
type Option func(*Registry)

// WithNamespace sets the namespace of the Services. The default is the
// pod's own namespace, from its service account, or "default" outside a
// pod.
func WithNamespace(ns string) Option {
	return func(r *Registry) { r.namespace = ns }
}

// WithDefaultScheme sets the scheme of ports without a name or
// appProtocol (a Service with one unnamed port). The default is "grpc".
func WithDefaultScheme(scheme string) Option {
	return func(r *Registry) { r.scheme = scheme }
}

// namespaceFile holds the pod's namespace, mounted with its service
// account token.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Registry is a registry.Registrar and registry.Discovery over the
// Kubernetes API. It is safe for concurrent use.
type Registry struct {
	client    kubernetes.Interface
	namespace string
	scheme    string
}

var (
	_ registry.Registrar = (*Registry)(nil)
	_ registry.Discovery = (*Registry)(nil)
)

// New returns a Registry reading EndpointSlices through client.
func New(client kubernetes.Interface, opts ...Option) *Registry {
	r := &Registry{client: client, scheme: "grpc"}
	for _, o := range opts {
		o(r)
	}
	if r.namespace == "" {
		r.namespace = "default"
		if b, err := os.ReadFile(namespaceFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			r.namespace = strings.TrimSpace(string(b))
		}
	}
	return r
}

// check says which operation got which bad instance, in the form every
// Zelos registry uses.
func check(op string, in *registry.ServiceInstance) error {
	switch {
	case in == nil:
		return fmt.Errorf("registry/kubernetes: %s: nil service instance", op)
	case in.Name == "":
		return fmt.Errorf("registry/kubernetes: %s: instance %q has no name", op, in.ID)
	case in.ID == "":
		return fmt.Errorf("registry/kubernetes: %s: instance of %q has no ID", op, in.Name)
	}
	return nil
}

// Register checks the instance and does nothing else: Kubernetes lists
// the pod in its Service's EndpointSlices once it is ready (see the
// package doc).
func (r *Registry) Register(_ context.Context, in *registry.ServiceInstance) error {
	return check("register", in)
}

// Deregister checks the instance and does nothing else: Kubernetes marks
// the pod's endpoints not ready as soon as it terminates.
func (r *Registry) Deregister(_ context.Context, in *registry.ServiceInstance) error {
	return check("deregister", in)
}

func (r *Registry) listOptions(service string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service}
}

// apiError names the verb and resource of a refused request, so that the
// missing RBAC rule can be read off the error.
func (r *Registry) apiError(verb, service string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("registry/kubernetes: forbidden: the service account may not %s endpointslices "+
			"(discovery.k8s.io) in namespace %s; grant it the %q verb on \"endpointslices\": %w", verb, r.namespace, verb, err)
	}
	return fmt.Errorf("registry/kubernetes: %s endpointslices of service %s/%s: %w", verb, r.namespace, service, err)
}

// GetService returns the ready endpoints of the Service's EndpointSlices;
// a Service without any has no instances.
func (r *Registry) GetService(ctx context.Context, service string) ([]*registry.ServiceInstance, error) {
	l, err := r.client.DiscoveryV1().EndpointSlices(r.namespace).List(ctx, r.listOptions(service))
	if err != nil {
		return nil, r.apiError("list", service, err)
	}
	return r.instances(service, l.Items), nil
}

// instances turns the slices of service into instances, sorted by ID.
func (r *Registry) instances(service string, items []discoveryv1.EndpointSlice) []*registry.ServiceInstance {
	byID := map[string]*registry.ServiceInstance{}
	for i := range items {
		s := &items[i]
		if s.Labels[discoveryv1.LabelServiceName] != service {
			continue // a list or watch that ignored the selector
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, addr := range ep.Addresses {
				id := addr
				if ep.TargetRef != nil && ep.TargetRef.Name != "" {
					id = ep.TargetRef.Name
				}
				in := byID[id]
				if in == nil {
					in = &registry.ServiceInstance{ID: id, Name: service, Metadata: map[string]string{}}
					byID[id] = in
				}
				if ep.Zone != nil && *ep.Zone != "" {
					in.Metadata["zone"] = *ep.Zone
				}
				if ep.NodeName != nil && *ep.NodeName != "" {
					in.Metadata["node"] = *ep.NodeName
				}
				for _, p := range s.Ports {
					if p.Port == nil {
						continue // "all ports", which has no URL
					}
					u := r.portScheme(p) + "://" + net.JoinHostPort(addr, strconv.Itoa(int(*p.Port)))
					if !slices.Contains(in.Endpoints, u) {
						in.Endpoints = append(in.Endpoints, u)
					}
				}
			}
		}
	}
	out := make([]*registry.ServiceInstance, 0, len(byID))
	for _, in := range byID {
		slices.Sort(in.Endpoints)
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *registry.ServiceInstance) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// portScheme is the URL scheme of a slice port (see the package doc).
func (r *Registry) portScheme(p discoveryv1.EndpointPort) string {
	name := ""
	if p.AppProtocol != nil {
		name = *p.AppProtocol
	}
	if name == "" && p.Name != nil {
		name = *p.Name
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:] // "kubernetes.io/h2c" is h2c
	}
	name, _, _ = strings.Cut(strings.ToLower(name), "-")
	if name == "" {
		return r.scheme
	}
	return name
}
