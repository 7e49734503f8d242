// Package auth is the shorthand for the common case of middleware/auth/jwt:
// HS256 tokens signed with one shared secret.
//
//	http.Middleware(auth.JWTAuth(auth.WithSecret(os.Getenv("JWT_SECRET"))))
//
// JWTAuth with no WithSecret reads the secret from the JWT_SECRET
// environment variable, so the tutorial's auth.JWTAuth() works as written,
// and panics at start-up when there is none: a gateway must not come up
// accepting tokens signed with an empty key.
//
// It is its own module, so that the core module does not depend on
// golang-jwt.
package auth

import (
	"os"

	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/auth/jwt"
)

// SecretEnv is the environment variable JWTAuth reads the secret from when
// WithSecret is not given.
const SecretEnv = "JWT_SECRET"

// Option configures JWTAuth.
type Option func(*options)

type options struct {
	secret  []byte
	jwtOpts []jwt.Option
}

// WithSecret sets the HS256 secret. It should be at least 32 random bytes.
func WithSecret(secret string) Option {
	return func(o *options) { o.secret = []byte(secret) }
}

// WithJWTOptions passes options to jwt.Server, such as jwt.WithLeeway or
// jwt.WithAudience.
func WithJWTOptions(opts ...jwt.Option) Option {
	return func(o *options) { o.jwtOpts = append(o.jwtOpts, opts...) }
}

// JWTAuth returns server middleware that accepts only requests bearing an
// HS256 token signed with the secret. See package jwt for what is checked.
func JWTAuth(opts ...Option) middleware.Middleware {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.secret) == 0 {
		o.secret = []byte(os.Getenv(SecretEnv))
	}
	if len(o.secret) == 0 {
		panic("middleware/auth: JWTAuth needs WithSecret or the " + SecretEnv + " environment variable")
	}
	secret := o.secret
	jo := append([]jwt.Option{jwt.WithSigningMethod(jwtv5.SigningMethodHS256)}, o.jwtOpts...)
	return jwt.Server(func(*jwtv5.Token) (any, error) { return secret, nil }, jo...)
}
