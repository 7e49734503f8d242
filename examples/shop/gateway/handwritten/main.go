// Command handwritten is the tutorial's API gateway (section 7.1), written
// by hand as the tutorial writes it: one gRPC client per service, found in
// the registry with discovery:///, and one HandleFunc per route, behind
// cors.CORS(), auth.JWTAuth(...) and ratelimit.Server() in
// http.Middleware(...). The configured gateway (zelos-gateway with
// ../configs/gateway.yaml) does the same without code; this one shows that
// the tutorial's way keeps working.
//
//	go run ./examples/shop/gateway/handwritten -registry etcd://127.0.0.1:2379
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	stdhttp "net/http"
	"os"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/examples/shop/internal/registryurl"
	orderv1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	userv1 "github.com/zelos-go/zelos/examples/shop/user/api/user/v1"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/auth"
	"github.com/zelos-go/zelos/middleware/cors"
	"github.com/zelos-go/zelos/middleware/ratelimit"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/selector/wrr"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func main() {
	addr := flag.String("addr", ":8000", "the gateway's address")
	reg := flag.String("registry", "memory", "memory, etcd://host:2379 or consul://host:8500")
	flag.Parse()
	disco, closeReg, err := registryurl.Open(*reg, log.DefaultLogger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer closeReg()
	app, err := newGateway(context.Background(), *addr, disco, os.Getenv("JWT_SECRET"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := app.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newGateway is the tutorial's main, with the registry, address and JWT
// secret passed in.
func newGateway(ctx context.Context, addr string, disco registry.Discovery, secret string, extra ...middleware.Middleware) (*zelos.App, error) {
	if secret == "" {
		secret = "zelos-shop-dev-secret"
	}
	// The load balancer.
	sl := selector.NewSelector(
		selector.Registry(disco),
		selector.Balancer(wrr.Name),
	)

	// The clients.
	userConn, err := grpc.DialInsecure(
		ctx,
		grpc.WithEndpoint("discovery:///user.service"),
		grpc.WithDiscovery(disco),
		grpc.WithSelector(sl),
	)
	if err != nil {
		return nil, err
	}
	orderConn, err := grpc.DialInsecure(
		ctx,
		grpc.WithEndpoint("discovery:///order.service"),
		grpc.WithDiscovery(disco),
		grpc.WithSelector(sl),
	)
	if err != nil {
		return nil, err
	}

	// The HTTP server.
	httpSrv := http.NewServer(
		http.Address(addr),
		http.Middleware(append([]middleware.Middleware{
			cors.CORS(),
			auth.JWTAuth(auth.WithSecret(secret)),
			ratelimit.Server(),
		}, extra...)...),
	)

	// The routes.
	registerRoutes(httpSrv, userConn, orderConn)

	app := zelos.New(
		zelos.Context(ctx),
		zelos.Name("api-gateway"),
		zelos.Server(httpSrv),
		zelos.AfterStop(func(context.Context) error {
			_ = userConn.Close()
			return orderConn.Close()
		}),
	)
	return app, nil
}

func registerRoutes(srv *http.Server, userConn, orderConn *grpc.ClientConn) {
	userClient := userv1.NewUserServiceClient(userConn)
	orderClient := orderv1.NewOrderServiceClient(orderConn)

	// The user routes.
	srv.HandleFunc("/api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case "GET":
			// Calls the user service.
			resp, err := userClient.ListUsers(r.Context(), &userv1.ListUsersRequest{})
			if err != nil {
				stdhttp.Error(w, err.Error(), stdhttp.StatusInternalServerError)
				return
			}
			json.NewEncoder(w).Encode(resp)
		case "POST":
			var req userv1.CreateUserRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				stdhttp.Error(w, err.Error(), stdhttp.StatusBadRequest)
				return
			}
			resp, err := userClient.CreateUser(r.Context(), &req)
			if err != nil {
				stdhttp.Error(w, err.Error(), stdhttp.StatusInternalServerError)
				return
			}
			json.NewEncoder(w).Encode(resp)
		}
	})

	// The order routes.
	srv.HandleFunc("/api/v1/orders", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case "GET":
			resp, err := orderClient.ListOrders(r.Context(), &orderv1.ListOrdersRequest{})
			if err != nil {
				stdhttp.Error(w, err.Error(), stdhttp.StatusInternalServerError)
				return
			}
			json.NewEncoder(w).Encode(resp)
		case "POST":
			var req orderv1.CreateOrderRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				stdhttp.Error(w, err.Error(), stdhttp.StatusBadRequest)
				return
			}
			resp, err := orderClient.CreateOrder(r.Context(), &req)
			if err != nil {
				stdhttp.Error(w, err.Error(), stdhttp.StatusInternalServerError)
				return
			}
			json.NewEncoder(w).Encode(resp)
		}
	})
}
