// Package conf is the configuration of the user service, as read from
// configs/config.yaml.
package conf

import shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"

// Bootstrap is the whole configuration.
type Bootstrap struct {
	Server   shopconf.Server `json:"server"`
	Registry string          `json:"registry"`
	Data     shopconf.Data   `json:"data"`
	Auth     Auth            `json:"auth"`
}

// Auth configures passwords and tokens.
type Auth struct {
	JWTSecret  string `json:"jwt_secret"`
	Issuer     string `json:"issuer"`
	TokenTTL   string `json:"token_ttl"`
	BcryptCost int    `json:"bcrypt_cost"`
}
