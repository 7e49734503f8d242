module github.com/zelos-go/zelos/contrib/log/logrus

go 1.26.0

require (
	github.com/sirupsen/logrus v1.10.2
	github.com/zelos-go/zelos v0.0.0
)

require golang.org/x/sys v0.48.0 // indirect

replace github.com/zelos-go/zelos => ../../..
