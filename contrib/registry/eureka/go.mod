module github.com/zelos-go/zelos/contrib/registry/eureka

go 1.26.0

require (
	github.com/zelos-go/zelos v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/zelos-go/zelos => ../../..
