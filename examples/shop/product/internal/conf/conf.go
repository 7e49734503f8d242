// Package conf is the configuration of the product service, as read from
// configs/config.yaml.
package conf

import shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"

// Bootstrap is the whole configuration.
type Bootstrap struct {
	Server   shopconf.Server `json:"server"`
	Registry string          `json:"registry"`
	Data     shopconf.Data   `json:"data"`
	Product  Product         `json:"product"`
}

// Product configures the stock reservations.
type Product struct {
	ReservationTTL string `json:"reservation_ttl"`
	SweepInterval  string `json:"sweep_interval"`
}
