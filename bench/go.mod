module github.com/zelos-go/zelos/bench

go 1.26.0

require (
	github.com/prometheus/client_golang v1.25.0
	github.com/zelos-go/zelos v0.0.0
	github.com/zelos-go/zelos/contrib/metrics/prometheus v0.0.0
	github.com/zelos-go/zelos/examples v0.0.0
	github.com/zelos-go/zelos/gateway v0.0.0
	go.opentelemetry.io/otel/metric v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/trace v1.47.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/otlptranslator v1.0.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/zelos-go/zelos/middleware/auth v0.0.0-00010101000000-000000000000 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/exporters/prometheus v0.69.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/sdk/metric v1.47.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/zelos-go/zelos => ../

replace github.com/zelos-go/zelos/contrib/metrics/prometheus => ../contrib/metrics/prometheus

replace github.com/zelos-go/zelos/gateway => ../gateway

replace github.com/zelos-go/zelos/middleware/auth => ../middleware/auth

replace github.com/zelos-go/zelos/examples => ../examples

replace github.com/zelos-go/zelos/contrib/otel/otlp => ../contrib/otel/otlp

replace github.com/zelos-go/zelos/contrib/registry/etcd => ../contrib/registry/etcd
