package main

import (
	"context"
	"time"

	"google.golang.org/grpc"

	productv1 "github.com/zelos-go/zelos/examples/shop/product/api/product/v1"
	userv1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/registry"
	zgrpc "github.com/zelos-go/zelos/transport/grpc"
)

// The demo user the shop creates on its first start.
const (
	demoName     = "Demo"
	demoEmail    = "demo@zelos.dev"
	demoPassword = "demo1234"
)

// demoProducts are the products of the first start.
var demoProducts = []*productv1.CreateProductRequest{
	{Name: "Zelos mug", Description: "A 350 ml mug with the Zelos logo.", Price: "12.50", Stock: 100},
	{Name: "Gopher plush", Description: "The Go gopher, 20 cm.", Price: "19.90", Stock: 50},
	{Name: "Mechanical keyboard", Description: "Tenkeyless, brown switches.", Price: "89.00", Stock: 20},
	{Name: "Sticker pack", Description: "Ten stickers.", Price: "3.50", Stock: 500},
}

// loadDemo creates the demo user and, if it was not there yet (the first
// start on this data directory), the demo products. It calls the services
// over gRPC through the registry, as any client would.
func loadDemo(ctx context.Context, reg registry.Discovery) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dial := func(name string) (*grpc.ClientConn, error) {
		// No health watch: these connections live for a few calls only.
		return zgrpc.DialInsecure(ctx, zgrpc.WithEndpoint("discovery:///"+name), zgrpc.WithDiscovery(reg), zgrpc.WithHealthCheck(false))
	}
	uc, err := dial("user.service")
	if err != nil {
		return err
	}
	defer uc.Close()
	_, err = userv1.NewUserServiceClient(uc).CreateUser(ctx, &userv1.CreateUserRequest{Name: demoName, Email: demoEmail, Password: demoPassword})
	if userv1.IsEmailTaken(err) {
		return nil // loaded on an earlier start
	}
	if err != nil {
		return err
	}
	pc, err := dial("product.service")
	if err != nil {
		return err
	}
	defer pc.Close()
	products := productv1.NewProductServiceClient(pc)
	for _, p := range demoProducts {
		if _, err := products.CreateProduct(ctx, p); err != nil {
			return err
		}
	}
	return nil
}
