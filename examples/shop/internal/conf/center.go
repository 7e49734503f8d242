package conf

import (
	"fmt"
	"strings"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/file"
	zconsul "github.com/zelos-go/zelos/contrib/config/consul"
	zetcd "github.com/zelos-go/zelos/contrib/config/etcd"
	"github.com/zelos-go/zelos/log"
)

// Center returns the config source a -config-center flag names, a YAML
// document at a key of a config center, watched for changes:
//
//	etcd://h1:2379,h2:2379/shop/user.yaml   the etcd key /shop/user.yaml
//	consul://h:8500/shop/user.yaml          the Consul KV key shop/user.yaml
//
// The returned function closes its client.
func Center(rawURL string) (config.Source, func(), error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	hosts, key, _ := strings.Cut(rest, "/")
	if !ok || hosts == "" || key == "" {
		return nil, nil, fmt.Errorf("conf: config center %q: want etcd://host:2379/key or consul://host:8500/key", rawURL)
	}
	switch scheme {
	case "etcd":
		c, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(hosts, ","), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, nil, fmt.Errorf("conf: config center %q: %w", rawURL, err)
		}
		return zetcd.NewSource(c, zetcd.WithPath("/"+key), zetcd.WithFormat("yaml")), func() { _ = c.Close() }, nil
	case "consul":
		cfg := consulapi.DefaultConfig()
		cfg.Address = hosts
		c, err := consulapi.NewClient(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("conf: config center %q: %w", rawURL, err)
		}
		return zconsul.NewSource(c, zconsul.WithPath(key), zconsul.WithFormat("yaml")), func() {}, nil
	}
	return nil, nil, fmt.Errorf("conf: config center %q: unknown scheme %q, want etcd or consul", rawURL, scheme)
}

// LoadCenter is Load with a config center layered over the file or the
// embedded defaults: its keys win, and its changes are reloaded. center ""
// is Load.
func LoadCenter(embedded []byte, path, center string, logger log.Logger) (config.Config, func(), error) {
	if center == "" {
		c, err := Load(embedded, path, logger)
		return c, func() {}, err
	}
	src, closeCenter, err := Center(center)
	if err != nil {
		return nil, nil, err
	}
	var base config.Source = Bytes(embedded)
	if path != "" {
		base = file.NewSource(path)
	}
	opts := []config.Option{config.WithSource(base, src)}
	if logger != nil {
		opts = append(opts, config.WithLogger(logger))
	}
	c := config.New(opts...)
	if err := c.Load(); err != nil {
		_ = c.Close()
		closeCenter()
		return nil, nil, fmt.Errorf("conf: %s: %w", center, err)
	}
	return c, closeCenter, nil
}
