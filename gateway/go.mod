module github.com/zelos-go/zelos/gateway

go 1.26.0

replace (
	github.com/zelos-go/zelos => ../
	github.com/zelos-go/zelos/middleware/auth => ../middleware/auth
)
