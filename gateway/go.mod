module github.com/zelos-go/zelos/gateway

go 1.26.0

replace (
	github.com/zelos-go/zelos => ../
	github.com/zelos-go/zelos/middleware/auth => ../middleware/auth
)

require (
	github.com/zelos-go/zelos v0.0.0-00010101000000-000000000000 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
