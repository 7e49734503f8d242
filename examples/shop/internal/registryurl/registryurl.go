// Package registryurl opens the service registry a shop service's
// -registry flag names:
//
//	memory                      in-process (the default): only services in this process see each other
//	etcd://h1:2379,h2:2379      etcd, through contrib/registry/etcd
//	consul://h:8500             Consul's agent, through contrib/registry/consul
//
//	reg, closeReg, err := registryurl.Open("etcd://127.0.0.1:2379", logger)
package registryurl

import (
	"fmt"
	"strings"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos/contrib/registry/consul"
	"github.com/zelos-go/zelos/contrib/registry/etcd"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/registry"
)

// Registry is what a service registers with and finds others in.
type Registry interface {
	registry.Registrar
	registry.Discovery
}

// dialTimeout bounds etcd's first connection.
const dialTimeout = 5 * time.Second

// Open returns the registry rawURL names; the returned function releases
// its client.
func Open(rawURL string, logger log.Logger) (Registry, func(), error) {
	if logger == nil {
		logger = log.DefaultLogger
	}
	scheme, hosts, ok := strings.Cut(rawURL, "://")
	if !ok {
		scheme, hosts = rawURL, ""
	}
	switch scheme {
	case "", "memory", "mem":
		return registry.NewInMemory(), func() {}, nil
	case "etcd":
		endpoints := split(hosts)
		if len(endpoints) == 0 {
			return nil, nil, fmt.Errorf("registryurl: %q: no etcd host", rawURL)
		}
		client, err := clientv3.New(clientv3.Config{
			Endpoints:   endpoints,
			DialTimeout: dialTimeout,
			Logger:      zap.NewNop(), // failures reach us as errors
		})
		if err != nil {
			return nil, nil, fmt.Errorf("registryurl: %q: %w", rawURL, err)
		}
		return etcd.New(client, etcd.Logger(logger)), func() { _ = client.Close() }, nil
	case "consul":
		endpoints := split(hosts)
		if len(endpoints) != 1 {
			return nil, nil, fmt.Errorf("registryurl: %q: want one consul agent, host:port", rawURL)
		}
		cfg := consulapi.DefaultConfig()
		cfg.Address = endpoints[0]
		client, err := consulapi.NewClient(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("registryurl: %q: %w", rawURL, err)
		}
		r := consul.New(client, consul.WithLogger(logger))
		return r, func() {}, nil
	default:
		return nil, nil, fmt.Errorf("registryurl: %q: unknown registry, want memory, etcd://host:port[,host:port] or consul://host:port", rawURL)
	}
}

func split(hosts string) []string {
	var out []string
	for _, h := range strings.Split(strings.TrimRight(hosts, "/"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}
