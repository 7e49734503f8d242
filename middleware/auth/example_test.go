package auth_test

import (
	"github.com/zelos-go/zelos/middleware/auth"
	"github.com/zelos-go/zelos/transport/http"
)

func ExampleJWTAuth() {
	// The tutorial's gateway, with the secret given explicitly.
	srv := http.NewServer(http.Address(":8000"), http.Middleware(
		auth.JWTAuth(auth.WithSecret("a-32-byte-secret-for-the-example")),
	))
	_ = srv
	// Output:
}
