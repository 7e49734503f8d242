// Package server registers the user service on its HTTP and gRPC servers.
package server

import (
	"github.com/zelos-go/zelos/examples/shop/internal/kit"
	v1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/examples/shop/user/internal/service"
)

// Register serves users on svc's gRPC server and, through the
// google.api.http rules of user.proto, on its HTTP server.
func Register(svc *kit.Service, users *service.UserService) {
	v1.RegisterUserServiceServer(svc.GRPC, users)
	v1.RegisterUserServiceHTTPServer(svc.HTTP, users)
}
