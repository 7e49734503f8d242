module github.com/zelos-go/zelos/contrib/config/apollo

go 1.26.0

require (
	github.com/zelos-go/zelos v0.0.0
	go.uber.org/goleak v1.3.0
)

require (
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/zelos-go/zelos => ../../..
