package gateway

// The balancers an endpoint may name register themselves when imported;
// p2c is built into the selector.
import (
	_ "github.com/zelos-go/zelos/selector/random"
	_ "github.com/zelos-go/zelos/selector/roundrobin"
	_ "github.com/zelos-go/zelos/selector/wrr"
)
