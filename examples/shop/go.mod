module github.com/zelos-go/zelos/examples/shop

go 1.26.0

require (
	github.com/zelos-go/zelos v0.0.0
	google.golang.org/genproto/googleapis/api v0.0.0-20260817212433-ac3dfec99bb1
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/coder/websocket v1.8.15 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/zelos-go/zelos => ../..
	github.com/zelos-go/zelos/contrib/metrics/prometheus => ../../contrib/metrics/prometheus
	github.com/zelos-go/zelos/contrib/otel/otlp => ../../contrib/otel/otlp
	github.com/zelos-go/zelos/contrib/registry/consul => ../../contrib/registry/consul
	github.com/zelos-go/zelos/contrib/registry/etcd => ../../contrib/registry/etcd
	github.com/zelos-go/zelos/gateway => ../../gateway
	github.com/zelos-go/zelos/middleware/auth => ../../middleware/auth
)
