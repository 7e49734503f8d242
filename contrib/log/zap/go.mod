module github.com/zelos-go/zelos/contrib/log/zap

go 1.26.0

require (
	github.com/zelos-go/zelos v0.0.0
	go.uber.org/zap v1.28.0
)

require go.uber.org/multierr v1.10.0 // indirect

replace github.com/zelos-go/zelos => ../../..
