package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/auth"
	"github.com/zelos-go/zelos/middleware/auth/jwt"
	"github.com/zelos-go/zelos/transport/http"
)

const secret = "0123456789abcdef0123456789abcdef"

func serve(mw middleware.Middleware, authz string) (int, string) {
	srv := http.NewServer(http.Logger(log.NewStdLogger(io.Discard)), http.Middleware(mw))
	srv.Route("/").GET("/me", func(ctx http.Context) error {
		c, _ := jwt.FromContext(ctx)
		sub, _ := c.GetSubject()
		return ctx.String(200, sub)
	})
	req := httptest.NewRequestWithContext(context.Background(), "GET", "/me", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func token(t *testing.T, m jwtv5.SigningMethod, key any) string {
	t.Helper()
	s, err := jwtv5.NewWithClaims(m, jwtv5.MapClaims{"sub": "alice", "aud": "shop"}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func TestJWTAuth(t *testing.T) {
	mw := auth.JWTAuth(auth.WithSecret(secret))
	if code, body := serve(mw, token(t, jwtv5.SigningMethodHS256, []byte(secret))); code != 200 || body != "alice" {
		t.Fatalf("HS256 with the secret: %d %s", code, body)
	}
	// HS512 with the same secret is refused: the shorthand pins HS256.
	if code, _ := serve(mw, token(t, jwtv5.SigningMethodHS512, []byte(secret))); code != 401 {
		t.Fatalf("HS512: %d, want 401", code)
	}
	if code, _ := serve(mw, ""); code != 401 {
		t.Fatalf("no token: %d, want 401", code)
	}
}

func TestJWTAuthOptions(t *testing.T) {
	mw := auth.JWTAuth(auth.WithSecret(secret), auth.WithJWTOptions(jwt.WithAudience("billing")))
	if code, _ := serve(mw, token(t, jwtv5.SigningMethodHS256, []byte(secret))); code != 401 {
		t.Fatalf("wrong audience: %d, want 401", code)
	}
}

func TestJWTAuthFromEnv(t *testing.T) {
	t.Setenv(auth.SecretEnv, secret)
	if code, _ := serve(auth.JWTAuth(), token(t, jwtv5.SigningMethodHS256, []byte(secret))); code != 200 {
		t.Fatalf("secret from %s: %d", auth.SecretEnv, code)
	}
}

func TestJWTAuthNoSecretPanics(t *testing.T) {
	t.Setenv(auth.SecretEnv, "")
	defer func() {
		if r := recover(); r == nil || fmt.Sprint(r) == "" {
			t.Fatal("JWTAuth with no secret did not panic")
		}
	}()
	auth.JWTAuth()
}
