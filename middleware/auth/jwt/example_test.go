package jwt_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"

	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware/auth/jwt"
	"github.com/zelos-go/zelos/transport/http"
)

func ExampleServer() {
	key := []byte("a-32-byte-secret-for-the-example")
	srv := http.NewServer(http.Logger(log.NewStdLogger(io.Discard)),
		http.Middleware(jwt.Server(func(*jwtv5.Token) (any, error) { return key, nil })))
	srv.Route("/").GET("/me", func(ctx http.Context) error {
		claims, _ := jwt.FromContext(ctx)
		sub, _ := claims.GetSubject()
		return ctx.String(200, "hello "+sub)
	})

	token, _ := jwtv5.NewWithClaims(jwtv5.SigningMethodHS256, jwtv5.MapClaims{"sub": "alice"}).SignedString(key)
	for _, authz := range []string{"Bearer " + token, ""} {
		req := httptest.NewRequestWithContext(context.Background(), "GET", "/me", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 hello alice
	// 401 {"code":401,"reason":"UNAUTHORIZED","message":"missing bearer token"}
}
