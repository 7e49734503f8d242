// Package shopgateway holds the shop's gateway configuration,
// configs/gateway.yaml, for the one-process shop to embed.
package shopgateway

import (
	_ "embed"

	"github.com/zelos-go/zelos/gateway"
)

// Config is configs/gateway.yaml.
//
//go:embed configs/gateway.yaml
var Config []byte

// Load parses Config, with its placeholders resolved from the environment.
func Load() (*gateway.Config, error) {
	return gateway.ParseConfig(Config, "examples/shop/gateway/configs/gateway.yaml")
}
