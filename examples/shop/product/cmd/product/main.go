// Command product runs the shop's product service alone:
//
//	product -conf examples/shop/product/configs -registry etcd://127.0.0.1:2379
//
// Without -conf it runs on the configuration embedded in the binary;
// without -registry on the config's registry key (REGISTRY, default
// memory). Instances pointed at one database share the stock.
package main

import (
	"context"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/registryurl"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/product"
	"github.com/zelos-go/zelos/log"
)

func main() {
	runner.Main("product", product.DefaultConfig, func(ctx context.Context, reg registryurl.Registry, c config.Config, logger log.Logger) (*zelos.App, func(), error) {
		return product.NewApp(ctx, product.Options{Registry: reg, Config: c, Logger: logger})
	})
}
