module github.com/zelos-go/zelos/contrib/registry/zookeeper

go 1.26.0

require (
	github.com/go-zookeeper/zk v1.0.4
	github.com/zelos-go/zelos v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/zelos-go/zelos => ../../..
