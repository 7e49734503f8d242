// Package jwt authenticates requests with JSON Web Tokens, using
// github.com/golang-jwt/jwt/v5.
//
//	key := func(*jwtv5.Token) (any, error) { return secret, nil }
//	srv := http.NewServer(http.Middleware(jwt.Server(key)))
//	// in a handler:
//	claims, _ := jwt.FromContext(ctx)
//
// Server verifies the token of each request, from the Authorization:
// Bearer header (HTTP) or the authorization metadata (gRPC), and puts its
// claims in the context. Client signs a token for each outgoing call. Keys
// can come from a JWKS document by URL (NewJWKS), looked up by kid.
//
// Verification is strict: exp, nbf and iat are checked with a leeway (0 by
// default), aud and iss when asked for, and the key's type fixes the
// algorithm family, so alg "none" and the HS256-with-an-RSA-public-key
// confusion are rejected. A failure is 401 with reason UNAUTHORIZED and, over
// HTTP, a WWW-Authenticate header; its message never echoes the token.
//
// Exempt routes, such as login, with middleware/selector.
package jwt

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"strings"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// Reason is the reason of every authentication failure.
const Reason = "UNAUTHORIZED"

// The errors of a failed authentication. Their messages name what is wrong,
// never the token.
var (
	ErrMissingToken  = errors.Unauthorized(Reason, "missing bearer token")
	ErrInvalidToken  = errors.Unauthorized(Reason, "invalid token")
	ErrExpiredToken  = errors.Unauthorized(Reason, "token expired")
	ErrWrongAudience = errors.Unauthorized(Reason, "token not issued for this audience")
	ErrWrongIssuer   = errors.Unauthorized(Reason, "token not issued by a trusted issuer")
	ErrMissingClaim  = errors.Unauthorized(Reason, "token lacks a required claim")
	ErrSigning       = errors.Unauthorized(Reason, "could not sign token")
)

// Option configures Server and Client.
type Option func(*options)

type options struct {
	method   jwtv5.SigningMethod
	claims   func() jwtv5.Claims
	leeway   time.Duration
	audience string
	issuer   string
	realm    string
	now      func() time.Time
}

// WithSigningMethod sets the algorithm: the only one Server accepts, and
// the one Client signs with. The default for Server is any algorithm of the
// key's family; for Client, HS256.
func WithSigningMethod(m jwtv5.SigningMethod) Option {
	return func(o *options) { o.method = m }
}

// WithClaims sets the factory of the claims type: Server parses into a new
// value per request, Client signs the value it returns (called per call, so
// it can set a fresh exp). The default is jwtv5.MapClaims.
func WithClaims(f func() jwtv5.Claims) Option {
	return func(o *options) { o.claims = f }
}

// WithLeeway sets the clock skew tolerated on exp, nbf and iat. The default
// is 0.
func WithLeeway(d time.Duration) Option {
	return func(o *options) { o.leeway = d }
}

// WithAudience makes Server require this aud. The default checks no aud.
func WithAudience(aud string) Option {
	return func(o *options) { o.audience = aud }
}

// WithIssuer makes Server require this iss. The default checks no iss.
func WithIssuer(iss string) Option {
	return func(o *options) { o.issuer = iss }
}

// WithRealm sets the realm of the WWW-Authenticate header. The default is
// "zelos".
func WithRealm(realm string) Option {
	return func(o *options) { o.realm = realm }
}

// WithTimeFunc sets the clock the time claims are checked against, for
// tests. The default is time.Now.
func WithTimeFunc(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

func newOptions(opts []Option) *options {
	o := &options{claims: func() jwtv5.Claims { return jwtv5.MapClaims{} }, realm: "zelos"}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

type claimsKey struct{}

// NewContext returns a context carrying claims.
func NewContext(ctx context.Context, claims jwtv5.Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// FromContext returns the claims Server verified for this request.
func FromContext(ctx context.Context) (jwtv5.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(jwtv5.Claims)
	return c, ok
}

// Server returns server middleware that verifies each request's token
// with the key keyFunc returns, and fails the request with 401 when it is
// missing or invalid.
func Server(keyFunc jwtv5.Keyfunc, opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	parserOpts := []jwtv5.ParserOption{jwtv5.WithLeeway(o.leeway), jwtv5.WithIssuedAt()}
	if o.method != nil {
		parserOpts = append(parserOpts, jwtv5.WithValidMethods([]string{o.method.Alg()}))
	}
	if o.audience != "" {
		parserOpts = append(parserOpts, jwtv5.WithAudience(o.audience))
	}
	if o.issuer != "" {
		parserOpts = append(parserOpts, jwtv5.WithIssuer(o.issuer))
	}
	if o.now != nil {
		parserOpts = append(parserOpts, jwtv5.WithTimeFunc(o.now))
	}
	parser := jwtv5.NewParser(parserOpts...)
	kf := familyChecked(keyFunc)
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromServerContext(ctx)
			if !ok {
				return nil, ErrMissingToken
			}
			raw, ok := bearer(tr.RequestHeader().Get("Authorization"))
			if !ok {
				return nil, o.challenge(tr, ErrMissingToken, "")
			}
			token, err := parser.ParseWithClaims(raw, o.claims(), kf)
			if err != nil || !token.Valid {
				e := classify(err)
				return nil, o.challenge(tr, e, "invalid_token")
			}
			return next(NewContext(ctx, token.Claims), req)
		}
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" value.
// The scheme is case-insensitive (RFC 7235).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// classify maps a parse error to one of the package's errors, keeping the
// parser's error as the cause for logs.
func classify(err error) *errors.Error {
	switch {
	case err == nil:
		return ErrInvalidToken
	case errors.Is(err, jwtv5.ErrTokenExpired):
		return ErrExpiredToken.WithCause(err)
	case errors.Is(err, jwtv5.ErrTokenInvalidAudience):
		return ErrWrongAudience.WithCause(err)
	case errors.Is(err, jwtv5.ErrTokenInvalidIssuer):
		return ErrWrongIssuer.WithCause(err)
	case errors.Is(err, jwtv5.ErrTokenRequiredClaimMissing):
		return ErrMissingClaim.WithCause(err)
	}
	return ErrInvalidToken.WithCause(err)
}

// challenge sets WWW-Authenticate on HTTP replies (RFC 6750) and returns e.
func (o *options) challenge(tr transport.Transporter, e *errors.Error, code string) error {
	if tr.Kind() == transport.KindHTTP {
		v := `Bearer realm="` + o.realm + `"`
		if code != "" {
			v += `, error="` + code + `"`
		}
		tr.ReplyHeader().Set("WWW-Authenticate", v)
	}
	return e
}

// familyChecked wraps keyFunc so that a token's algorithm must belong to
// the family of the key it is verified with: HMAC for []byte, RSA (RS, PS)
// for RSA keys, ECDSA for ECDSA keys, EdDSA for Ed25519 keys. golang-jwt
// rejects most mismatches by key type already; checking here as well makes
// the rule explicit and covers keys handed over as interfaces.
func familyChecked(keyFunc jwtv5.Keyfunc) jwtv5.Keyfunc {
	return func(t *jwtv5.Token) (any, error) {
		key, err := keyFunc(t)
		if err != nil {
			return nil, err
		}
		if err := checkFamily(t.Method, key); err != nil {
			return nil, err
		}
		return key, nil
	}
}

func checkFamily(m jwtv5.SigningMethod, key any) error {
	var ok bool
	switch k := key.(type) {
	case []byte:
		// A PEM document handed over as bytes would make a forger's HS256
		// token, keyed with the public key, verify: the textbook confusion.
		if bytes.HasPrefix(bytes.TrimSpace(k), []byte("-----BEGIN")) {
			return fmt.Errorf("middleware/auth/jwt: the key is a PEM document; parse it (jwtv5.ParseRSAPublicKeyFromPEM) instead of using its bytes as an HMAC secret")
		}
		_, ok = m.(*jwtv5.SigningMethodHMAC)
	case *rsa.PublicKey, *rsa.PrivateKey:
		switch m.(type) {
		case *jwtv5.SigningMethodRSA, *jwtv5.SigningMethodRSAPSS:
			ok = true
		}
	case *ecdsa.PublicKey, *ecdsa.PrivateKey:
		_, ok = m.(*jwtv5.SigningMethodECDSA)
	case ed25519.PublicKey, ed25519.PrivateKey:
		_, ok = m.(*jwtv5.SigningMethodEd25519)
	case jwtv5.VerificationKeySet:
		for _, vk := range k.Keys {
			if checkFamily(m, vk) == nil {
				return nil
			}
		}
	}
	if !ok {
		return fmt.Errorf("middleware/auth/jwt: algorithm %s does not match a %T key", m.Alg(), key)
	}
	return nil
}

// Client returns client middleware that signs a token with the key keyFunc
// returns and sends it as "Authorization: Bearer <token>" (the
// authorization metadata over gRPC).
func Client(keyFunc jwtv5.Keyfunc, opts ...Option) middleware.Middleware {
	o := newOptions(opts)
	if o.method == nil {
		o.method = jwtv5.SigningMethodHS256
	}
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromClientContext(ctx)
			if !ok {
				return next(ctx, req)
			}
			token := jwtv5.NewWithClaims(o.method, o.claims())
			key, err := keyFunc(token)
			if err != nil {
				return nil, ErrSigning.WithCause(err)
			}
			signed, err := token.SignedString(key)
			if err != nil {
				return nil, ErrSigning.WithCause(err)
			}
			tr.RequestHeader().Set("Authorization", "Bearer "+signed)
			return next(ctx, req)
		}
	}
}
