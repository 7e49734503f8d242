// Command chat runs the shop's chat service alone:
//
//	chat -conf examples/shop/chat/configs -registry etcd://127.0.0.1:2379
//
// Without -conf it runs on the configuration embedded in the binary;
// without -registry on the config's registry key (REGISTRY, default
// memory).
package main

import (
	"context"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/examples/shop/chat"
	"github.com/zelos-go/zelos/examples/shop/internal/registryurl"
	"github.com/zelos-go/zelos/examples/shop/internal/runner"
	"github.com/zelos-go/zelos/log"
)

func main() { runner.Main("chat", chat.DefaultConfig, newApp) }

// newApp builds the service on the configuration and registry runner
// opened from -conf and -registry.
func newApp(ctx context.Context, reg registryurl.Registry, c config.Config, logger log.Logger) (*zelos.App, func(), error) {
	return chat.NewApp(ctx, chat.Options{Registry: reg, Config: c, Logger: logger})
}
