module github.com/zelos-go/zelos/contrib/log/fluent

go 1.26.0

require (
	github.com/fluent/fluent-logger-golang v1.10.2
	github.com/tinylib/msgp v1.3.0
	github.com/zelos-go/zelos v0.0.0
	go.uber.org/goleak v1.3.0
)

require github.com/philhofer/fwd v1.2.0 // indirect

replace github.com/zelos-go/zelos => ../../..
