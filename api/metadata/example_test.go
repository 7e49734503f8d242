package metadata_test

import (
	"context"
	"fmt"

	"github.com/zelos-go/zelos/api/metadata"
	"github.com/zelos-go/zelos/transport/grpc"
)

func ExampleNewServer() {
	srv := grpc.NewServer()
	md := metadata.NewServer(srv)
	metadata.RegisterMetadataServer(srv, md)
	reply, _ := md.ListServices(context.Background(), &metadata.ListServicesRequest{})
	fmt.Println(reply.Services)
	// Output: [grpc.health.v1.Health grpc.reflection.v1.ServerReflection grpc.reflection.v1alpha.ServerReflection zelos.api.metadata.v1.Metadata]
}
