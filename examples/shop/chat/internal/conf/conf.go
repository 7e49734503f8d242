// Package conf is the configuration of the chat service, as read from
// configs/config.yaml.
package conf

import shopconf "github.com/zelos-go/zelos/examples/shop/internal/conf"

// Bootstrap is the whole configuration.
type Bootstrap struct {
	Server   shopconf.Server `json:"server"`
	Registry string          `json:"registry"`
	Chat     Chat            `json:"chat"`
}

// Chat configures the rooms.
type Chat struct {
	// Buffer is how many messages a member may fall behind before it is
	// dropped; 0 means 64.
	Buffer int `json:"buffer"`
	// MaxMembers bounds the members of a room; 0 means 1000.
	MaxMembers int `json:"max_members"`
}
