package cors_test

import (
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/cors"
	"github.com/zelos-go/zelos/transport"
	"github.com/zelos-go/zelos/transport/http"
)

// requireToken stands for auth.JWTAuth (its own module): it refuses
// requests without an Authorization header.
func requireToken(next middleware.Handler) middleware.Handler {
	return func(ctx context.Context, req any) (any, error) {
		if tr, ok := transport.FromServerContext(ctx); ok && tr.RequestHeader().Get("Authorization") == "" {
			return nil, errors.Unauthorized("UNAUTHORIZED", "missing bearer token")
		}
		return next(ctx, req)
	}
}

// The tutorial's gateway: CORS first in the chain, then authentication.
// The preflight of a path registered only for POST is answered by CORS and
// never reaches requireToken; the 401 requireToken answers still carries
// the CORS headers, so the page can read it.
func Example() {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := http.NewServer(
		http.Listener(lis),
		http.Logger(log.NewStdLogger(io.Discard)),
		http.Middleware(
			cors.CORS(
				cors.WithAllowedOrigins("https://shop.example.com", "https://*.shop.example.com"),
				cors.WithAllowCredentials(true),
				cors.WithExposedHeaders("WWW-Authenticate"),
				cors.WithMaxAge(600),
			),
			requireToken,
		),
	)
	srv.Route("/").POST("/v1/orders", func(ctx http.Context) error {
		return ctx.JSON(200, map[string]string{"id": "42"})
	})
	go func() { _ = srv.Start(context.Background()) }()
	defer srv.Stop(context.Background())
	base := "http://" + lis.Addr().String()

	show := func(req *nethttp.Request) {
		res, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		res.Body.Close()
		fmt.Println(req.Method, res.StatusCode)
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
			"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"} {
			if v := res.Header.Get(k); v != "" {
				fmt.Printf("  %s: %s\n", k, v)
			}
		}
	}
	pre, _ := nethttp.NewRequest("OPTIONS", base+"/v1/orders", nil)
	pre.Header.Set("Origin", "https://app.shop.example.com")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	show(pre)

	post, _ := nethttp.NewRequest("POST", base+"/v1/orders", nil)
	post.Header.Set("Origin", "https://app.shop.example.com")
	show(post)
	nethttp.DefaultClient.CloseIdleConnections()
	// Output:
	// OPTIONS 204
	//   Access-Control-Allow-Origin: https://app.shop.example.com
	//   Access-Control-Allow-Credentials: true
	//   Access-Control-Allow-Methods: GET, HEAD, POST, PUT, PATCH, DELETE
	//   Access-Control-Allow-Headers: authorization,content-type
	//   Access-Control-Max-Age: 600
	//   Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers
	// POST 401
	//   Access-Control-Allow-Origin: https://app.shop.example.com
	//   Access-Control-Allow-Credentials: true
	//   Vary: Origin
}

// Filter puts the same policy in front of routing, so that even the 404
// of an unknown path carries the CORS headers.
func ExampleFilter() {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := http.NewServer(
		http.Listener(lis),
		http.Logger(log.NewStdLogger(io.Discard)),
		http.Filter(cors.Filter(cors.WithAllowedOrigins("http://localhost:5173"))),
	)
	go func() { _ = srv.Start(context.Background()) }()
	defer srv.Stop(context.Background())

	req, _ := nethttp.NewRequest("GET", "http://"+lis.Addr().String()+"/no/such/path", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	res, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	nethttp.DefaultClient.CloseIdleConnections()
	fmt.Println(res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	// Output: 404 http://localhost:5173
}
