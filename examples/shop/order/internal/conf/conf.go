// Package conf is the configuration of the order service, as read from
// configs/config.yaml.
package conf

import shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"

// Bootstrap is the whole configuration.
type Bootstrap struct {
	Server   shopconf.Server `json:"server"`
	Registry string          `json:"registry"`
	Data     shopconf.Data   `json:"data"`
	Clients  Clients         `json:"clients"`
	Order    Order           `json:"order"`
}

// Clients configures the gRPC clients of the user and product services.
type Clients struct {
	// User and Product are the targets, discovery:///user.service and
	// discovery:///product.service.
	User    string `json:"user"`
	Product string `json:"product"`
	// Timeout bounds each call, retries included, "3s".
	Timeout string `json:"timeout"`
	// Attempts is the most times a call is sent (1 turns retries off);
	// retries are bounded by a budget, 10% of the calls plus 1 a second.
	Attempts int `json:"attempts"`
}

// Order configures the order use case.
type Order struct {
	// PendingTimeout is how long an order may wait for its stock before
	// the recovery loop fails it and releases the stock, "2m".
	PendingTimeout string `json:"pending_timeout"`
	// RecoverInterval is how often the recovery loop runs, "2s".
	RecoverInterval string `json:"recover_interval"`
	// RecoverGrace is how long the loop leaves a just-changed order to
	// the request working on it, "5s".
	RecoverGrace string `json:"recover_grace"`
}
