// Package nacos is a registry.Registrar and registry.Discovery backed by
// the naming service of Nacos, through the official Go SDK
// (github.com/nacos-group/nacos-sdk-go/v2).
//
//	client, err := clients.NewNamingClient(vo.NacosClientParam{
//		ClientConfig: &constant.ClientConfig{
//			NamespaceId:          "your-namespace",
//			TimeoutMs:            5000,
//			NotLoadCacheAtStart:  true,
//			UpdateCacheWhenEmpty: true, // or the last instance never leaves
//		},
//		ServerConfigs: []constant.ServerConfig{{IpAddr: "nacos-server", Port: 8848}},
//	})
//	...
//	r := nacos.New(client)
//
// A ServiceInstance is one ephemeral Nacos instance of the service of its
// name: the address (ip and port) of its first endpoint, its metadata, and
// the reserved metadata keys "zelos_id", "zelos_version" and
// "zelos_endpoints" (the endpoints as a JSON array), from which Discovery
// builds it back. Nacos knows an instance by its address and cluster, so two
// instances of one service must not share their first endpoint's address.
// The metadata "weight", when it is a positive number, is the Nacos weight.
//
// Nacos 2 lets a client publish one instance per service, or one list; the
// Registry keeps the instances it registered per service and publishes
// them all each time (a batch for two or more). The SDK registers them
// again after a reconnection, and Nacos removes them when the client's
// connection goes, so a crashed process drops out.
//
// Make the SDK client with ClientConfig.UpdateCacheWhenEmpty: without it
// the SDK keeps a service's last instances in its cache when the last one
// leaves, and neither GetService nor a Watcher ever sees the service empty.
package nacos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"github.com/nacos-group/nacos-sdk-go/v2/clients/naming_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/zelos-go/zelos/registry"
)

var (
	_ registry.Registrar = (*Registry)(nil)
	_ registry.Discovery = (*Registry)(nil)
)

// Reserved metadata keys.
const (
	metaID        = "zelos_id"
	metaVersion   = "zelos_version"
	metaEndpoints = "zelos_endpoints"
	metaWeight    = "weight"
	metaKind      = "kind" // the scheme of instances registered by others (Kratos writes it)
)

// defaultWeight is the Nacos weight of an instance without a "weight".
const defaultWeight = 100

// Option configures a Registry.
type Option func(*options)

type options struct {
	group   string
	cluster string
	scheme  string
}

// WithGroup sets the Nacos group of the services. The default is
// "DEFAULT_GROUP".
func WithGroup(group string) Option {
	return func(o *options) { o.group = group }
}

// WithCluster sets the cluster instances are registered in. Discovery
// lists the instances of every cluster. The default is "DEFAULT".
func WithCluster(cluster string) Option {
	return func(o *options) { o.cluster = cluster }
}

// WithDefaultScheme sets the endpoint scheme of instances registered by
// other tools, which have no zelos_endpoints and no "kind" metadata. The
// default is "grpc".
func WithDefaultScheme(scheme string) Option {
	return func(o *options) { o.scheme = scheme }
}

// Registry registers and discovers instances through a Nacos naming
// client. It is safe for concurrent use.
type Registry struct {
	o      options
	client naming_client.INamingClient

	mu    sync.Mutex                                      // serializes publishing
	owned map[string]map[string]*registry.ServiceInstance // by service, then ID; guarded by mu

	subMu  sync.Mutex               // serializes subscribing and Close
	wmu    sync.Mutex               // guards subs, their watchers and closed
	subs   map[string]*subscription // by service
	closed bool
}

// New returns a Registry on client, which the caller keeps and closes:
// Close stops the Registry's watchers only.
func New(client naming_client.INamingClient, opts ...Option) *Registry {
	r := &Registry{
		o:      options{group: constant.DEFAULT_GROUP, cluster: "DEFAULT", scheme: "grpc"},
		client: client,
		owned:  map[string]map[string]*registry.ServiceInstance{},
		subs:   map[string]*subscription{},
	}
	for _, opt := range opts {
		opt(&r.o)
	}
	return r
}

// check says which operation got which bad instance, in the form every
// Zelos registry uses.
func check(op string, in *registry.ServiceInstance) error {
	switch {
	case in == nil:
		return fmt.Errorf("nacos: %s: nil service instance", op)
	case in.Name == "":
		return fmt.Errorf("nacos: %s: instance %q has no name", op, in.ID)
	case in.ID == "":
		return fmt.Errorf("nacos: %s: instance of %q has no ID", op, in.Name)
	}
	return nil
}

// address is the host and port of an instance's first endpoint.
func address(in *registry.ServiceInstance) (string, uint64, error) {
	if len(in.Endpoints) == 0 {
		return "", 0, fmt.Errorf("nacos: instance %s of %q has no endpoint", in.ID, in.Name)
	}
	u, err := url.Parse(in.Endpoints[0])
	if err != nil {
		return "", 0, fmt.Errorf("nacos: instance %s: endpoint %q: %w", in.ID, in.Endpoints[0], err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", 0, fmt.Errorf("nacos: instance %s: endpoint %q has no host:port", in.ID, in.Endpoints[0])
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return "", 0, fmt.Errorf("nacos: instance %s: endpoint %q has no valid port", in.ID, in.Endpoints[0])
	}
	return host, p, nil
}

// toNacos is the registration of in.
func (r *Registry) toNacos(in *registry.ServiceInstance) (vo.RegisterInstanceParam, error) {
	host, port, err := address(in)
	if err != nil {
		return vo.RegisterInstanceParam{}, err
	}
	md := make(map[string]string, len(in.Metadata)+3)
	for k, v := range in.Metadata {
		if k == metaID || k == metaVersion || k == metaEndpoints {
			return vo.RegisterInstanceParam{}, fmt.Errorf("nacos: instance %s: metadata key %q is reserved", in.ID, k)
		}
		md[k] = v
	}
	eps, _ := json.Marshal(in.Endpoints)
	md[metaID], md[metaVersion], md[metaEndpoints] = in.ID, in.Version, string(eps)
	weight := float64(defaultWeight)
	if w, err := strconv.ParseFloat(in.Metadata[metaWeight], 64); err == nil && w > 0 {
		weight = w
	}
	return vo.RegisterInstanceParam{
		Ip: host, Port: port, Weight: weight, Enable: true, Healthy: true, Ephemeral: true,
		Metadata: md, ClusterName: r.o.cluster, ServiceName: in.Name, GroupName: r.o.group,
	}, nil
}

// Register publishes in, replacing an instance of the same name and ID.
func (r *Registry) Register(ctx context.Context, in *registry.ServiceInstance) error {
	if err := check("register", in); err != nil {
		return err
	}
	if _, err := r.toNacos(in); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(r.owned[in.Name])
	if next == nil {
		next = map[string]*registry.ServiceInstance{}
	}
	host, port, _ := address(in)
	for id, other := range next {
		if h, p, _ := address(other); id != in.ID && h == host && p == port {
			return fmt.Errorf("nacos: instance %s of %q has the address %s:%d of instance %s; Nacos tells instances apart by address",
				in.ID, in.Name, host, port, id)
		}
	}
	next[in.ID] = in
	if err := r.publish(in.Name, next); err != nil {
		return err
	}
	r.owned[in.Name] = next
	return nil
}

// Deregister removes in; an instance that is not registered is no error.
func (r *Registry) Deregister(ctx context.Context, in *registry.ServiceInstance) error {
	if err := check("deregister", in); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.owned[in.Name]
	if _, ok := cur[in.ID]; !ok {
		return nil
	}
	next := maps.Clone(cur)
	delete(next, in.ID)
	if err := r.publish(in.Name, next); err != nil {
		return err
	}
	if len(next) == 0 {
		delete(r.owned, in.Name)
	} else {
		r.owned[in.Name] = next
	}
	return nil
}

// publish makes the client's instances of service be set: Nacos 2 keeps
// one instance or one list per client and service, which each register
// replaces. r.mu must be held.
func (r *Registry) publish(service string, set map[string]*registry.ServiceInstance) error {
	ids := slices.Sorted(maps.Keys(set))
	params := make([]vo.RegisterInstanceParam, 0, len(ids))
	for _, id := range ids {
		p, err := r.toNacos(set[id])
		if err != nil {
			return err
		}
		params = append(params, p)
	}
	var ok bool
	var err error
	switch len(params) {
	case 0:
		// The address does not matter: Nacos 2 removes what the client
		// published in the service.
		var one *registry.ServiceInstance
		for _, in := range r.owned[service] {
			one = in
			break
		}
		host, port, _ := address(one)
		ok, err = r.client.DeregisterInstance(vo.DeregisterInstanceParam{
			Ip: host, Port: port, Cluster: r.o.cluster, ServiceName: service, GroupName: r.o.group, Ephemeral: true,
		})
	case 1:
		ok, err = r.client.RegisterInstance(params[0])
	default:
		ok, err = r.client.BatchRegisterInstance(vo.BatchRegisterInstanceParam{
			ServiceName: service, GroupName: r.o.group, Instances: params,
		})
	}
	if err == nil && !ok {
		err = errors.New("the server refused it")
	}
	if err != nil {
		return fmt.Errorf("nacos: publish the instances of %q: %w", service, err)
	}
	return nil
}

// GetService returns the enabled, healthy instances of the service with a
// positive weight.
func (r *Registry) GetService(ctx context.Context, name string) ([]*registry.ServiceInstance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hosts, err := r.client.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: name, GroupName: r.o.group})
	if err != nil {
		return nil, fmt.Errorf("nacos: get service %q: %w", name, err)
	}
	return r.fromNacos(name, hosts), nil
}

// fromNacos converts the instances Nacos lists, skipping those that must
// not get traffic.
func (r *Registry) fromNacos(name string, hosts []model.Instance) []*registry.ServiceInstance {
	out := make([]*registry.ServiceInstance, 0, len(hosts))
	for _, h := range hosts {
		if !h.Enable || !h.Healthy || h.Weight <= 0 {
			continue
		}
		in := &registry.ServiceInstance{Name: name, Metadata: map[string]string{}}
		for k, v := range h.Metadata {
			switch k {
			case metaID:
				in.ID = v
			case metaVersion:
				in.Version = v
			case metaEndpoints:
				_ = json.Unmarshal([]byte(v), &in.Endpoints)
			default:
				in.Metadata[k] = v
			}
		}
		addr := net.JoinHostPort(h.Ip, strconv.FormatUint(h.Port, 10))
		if in.ID == "" { // registered by another tool
			in.ID = addr
			in.Version = h.Metadata["version"]
		}
		if len(in.Endpoints) == 0 {
			scheme := r.o.scheme
			if k := h.Metadata[metaKind]; k != "" {
				scheme = k
			}
			in.Endpoints = []string{scheme + "://" + addr}
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *registry.ServiceInstance) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}
