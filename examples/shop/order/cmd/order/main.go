// Command order runs the shop's order service alone:
//
//	order -conf examples/shop/order/configs -registry etcd://127.0.0.1:2379
//
// Without -conf it runs on the configuration embedded in the binary;
// without -registry on the config's registry key (REGISTRY, default
// memory). It finds the user and product services through the registry,
// so with the in-memory one it can only answer what needs neither.
package main

import (
	"context"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/registryurl"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/order"
	"github.com/zelos-go/zelos/log"
)

func main() { runner.Main("order", order.DefaultConfig, newApp) }

// newApp builds the service on the configuration and registry runner
// opened from -conf and -registry.
func newApp(ctx context.Context, reg registryurl.Registry, c config.Config, logger log.Logger) (*zelos.App, func(), error) {
	return order.NewApp(ctx, order.Options{Registry: reg, Config: c, Logger: logger})
}
