// Command user runs the shop's user service alone:
//
//	user -conf examples/shop/user/configs -registry etcd://127.0.0.1:2379
//
// Without -conf it runs on the configuration embedded in the binary;
// without -registry on the config's registry key (REGISTRY, default
// memory).
package main

import (
	"context"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/internal/registryurl"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/examples/shop/user"
	"github.com/zelos-go/zelos/log"
)

func main() {
	runner.Main("user", user.DefaultConfig, func(ctx context.Context, reg registryurl.Registry, c config.Config, logger log.Logger) (*zelos.App, func(), error) {
		return user.NewApp(ctx, user.Options{Registry: reg, Config: c, Logger: logger})
	})
}
