package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/auth/jwt"
	"github.com/zelos-go/zelos/middleware/selector"
	"github.com/zelos-go/zelos/transport/grpc"
	"github.com/zelos-go/zelos/transport/http"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var secret = []byte("0123456789abcdef0123456789abcdef")

func hmacKey(*jwtv5.Token) (any, error) { return secret, nil }

func sign(t *testing.T, m jwtv5.SigningMethod, key any, claims jwtv5.MapClaims, kid string) string {
	t.Helper()
	tok := jwtv5.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startHTTP serves GET /me (returns the subject) and POST /login behind mw.
func startHTTP(t *testing.T, mw middleware.Middleware) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := http.NewServer(http.Listener(lis), http.Logger(log.NewStdLogger(io.Discard)), http.Middleware(mw))
	r := srv.Route("/")
	r.GET("/me", func(ctx http.Context) error {
		claims, ok := jwt.FromContext(ctx)
		if !ok {
			return errors.InternalServer("NO_CLAIMS", "no claims")
		}
		sub, _ := claims.GetSubject()
		return ctx.String(200, sub)
	})
	r.POST("/login", func(ctx http.Context) error { return ctx.String(200, "welcome") })
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		_ = srv.Stop(context.Background())
		<-done
	})
	return "http://" + lis.Addr().String()
}

type reply struct {
	status int
	body   string
	www    string
}

func do(t *testing.T, method, url, authz string) reply {
	t.Helper()
	req, _ := nethttp.NewRequest(method, url, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, string(b), res.Header.Get("WWW-Authenticate")}
}

func TestHTTPTokens(t *testing.T) {
	now := time.Now()
	base := startHTTP(t, jwt.Server(hmacKey, jwt.WithLeeway(30*time.Second), jwt.WithAudience("shop"), jwt.WithIssuer("user-service")))
	claims := func(over jwtv5.MapClaims) jwtv5.MapClaims {
		c := jwtv5.MapClaims{"sub": "alice", "aud": "shop", "iss": "user-service", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	hs := func(c jwtv5.MapClaims) string { return "Bearer " + sign(t, jwtv5.SigningMethodHS256, secret, c, "") }
	for _, tc := range []struct {
		name   string
		authz  string
		status int
		msg    string
	}{
		{"valid", hs(claims(nil)), 200, "alice"},
		{"lowercase scheme", "bearer " + sign(t, jwtv5.SigningMethodHS256, secret, claims(nil), ""), 200, "alice"},
		{"missing", "", 401, "missing bearer token"},
		{"basic scheme", "Basic YWxpY2U6cHc=", 401, "missing bearer token"},
		{"garbage", "Bearer not.a.jwt", 401, "invalid token"},
		{"wrong secret", "Bearer " + sign(t, jwtv5.SigningMethodHS256, []byte("another-secret-another-secret-00"), claims(nil), ""), 401, "invalid token"},
		{"expired", hs(claims(jwtv5.MapClaims{"exp": now.Add(-time.Minute).Unix()})), 401, "token expired"},
		{"expired within leeway", hs(claims(jwtv5.MapClaims{"exp": now.Add(-10 * time.Second).Unix()})), 200, "alice"},
		{"not yet valid", hs(claims(jwtv5.MapClaims{"nbf": now.Add(time.Hour).Unix()})), 401, "invalid token"},
		{"issued in the future", hs(claims(jwtv5.MapClaims{"iat": now.Add(time.Hour).Unix()})), 401, "invalid token"},
		{"wrong audience", hs(claims(jwtv5.MapClaims{"aud": "billing"})), 401, "token not issued for this audience"},
		{"no audience", hs(claims(jwtv5.MapClaims{"aud": nil})), 401, "token lacks a required claim"},
		{"wrong issuer", hs(claims(jwtv5.MapClaims{"iss": "evil"})), 401, "token not issued by a trusted issuer"},
		{"alg none", "Bearer " + sign(t, jwtv5.SigningMethodNone, jwtv5.UnsafeAllowNoneSignatureType, claims(nil), ""), 401, "invalid token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "GET", base+"/me", tc.authz)
			if r.status != tc.status || !strings.Contains(r.body, tc.msg) {
				t.Fatalf("got %d %s, want %d with %q", r.status, r.body, tc.status, tc.msg)
			}
			if tc.status == 401 {
				var e struct {
					Code   int
					Reason string
				}
				if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Reason != jwt.Reason {
					t.Fatalf("body %s: want a Zelos error with reason UNAUTHORIZED", r.body)
				}
				if !strings.HasPrefix(r.www, `Bearer realm="zelos"`) {
					t.Fatalf("WWW-Authenticate = %q", r.www)
				}
				if tok := strings.TrimPrefix(tc.authz, "Bearer "); len(tok) > 8 && strings.Contains(r.body, tok[:8]) {
					t.Fatalf("the error body echoes the token: %s", r.body)
				}
			}
		})
	}
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAlgorithmConfusion(t *testing.T) {
	// The server verifies RS256 with a public key; an attacker signs HS256
	// using that public key's PEM as the HMAC secret.
	priv := rsaKey(t)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for name, key := range map[string]any{"rsa key": &priv.PublicKey, "key as PEM bytes": pubPEM} {
		t.Run(name, func(t *testing.T) {
			base := startHTTP(t, jwt.Server(func(*jwtv5.Token) (any, error) { return key, nil }))
			forged := sign(t, jwtv5.SigningMethodHS256, pubPEM, jwtv5.MapClaims{"sub": "mallory"}, "")
			if r := do(t, "GET", base+"/me", "Bearer "+forged); r.status != 401 {
				t.Fatalf("HS256 forged with the public key: %d %s", r.status, r.body)
			}
		})
	}
	base := startHTTP(t, jwt.Server(func(*jwtv5.Token) (any, error) { return &priv.PublicKey, nil }))
	good := sign(t, jwtv5.SigningMethodRS256, priv, jwtv5.MapClaims{"sub": "alice"}, "")
	if r := do(t, "GET", base+"/me", "Bearer "+good); r.status != 200 || r.body != "alice" {
		t.Fatalf("RS256: %d %s", r.status, r.body)
	}
	ps := sign(t, jwtv5.SigningMethodPS256, priv, jwtv5.MapClaims{"sub": "alice"}, "")
	if r := do(t, "GET", base+"/me", "Bearer "+ps); r.status != 200 {
		t.Fatalf("PS256 with an RSA key: %d %s", r.status, r.body)
	}
}

func TestSigningMethodPinned(t *testing.T) {
	priv := rsaKey(t)
	base := startHTTP(t, jwt.Server(func(*jwtv5.Token) (any, error) { return &priv.PublicKey, nil }, jwt.WithSigningMethod(jwtv5.SigningMethodRS256)))
	ps := sign(t, jwtv5.SigningMethodPS256, priv, jwtv5.MapClaims{"sub": "alice"}, "")
	if r := do(t, "GET", base+"/me", "Bearer "+ps); r.status != 401 {
		t.Fatalf("PS256 accepted where RS256 is pinned: %d", r.status)
	}
}

func TestExemptLoginWithSelector(t *testing.T) {
	mw := selector.Server(jwt.Server(hmacKey)).Match(func(_ context.Context, op string) bool { return op != "/login" }).Build()
	base := startHTTP(t, mw)
	if r := do(t, "POST", base+"/login", ""); r.status != 200 {
		t.Fatalf("login without a token: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/me", ""); r.status != 401 {
		t.Fatalf("/me without a token: %d", r.status)
	}
}

// jwksServer serves a JWKS document that the test can change, counting
// fetches.
type jwksServer struct {
	mu      sync.Mutex
	doc     []byte
	fetches atomic.Int64
	*httptest.Server
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(keys ...map[string]string) {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	s.mu.Lock()
	s.doc = b
	s.mu.Unlock()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func TestJWKS(t *testing.T) {
	rsa1, rsa2 := rsaKey(t), rsaKey(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecJWK := map[string]string{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": b64(ec.X.FillBytes(make([]byte, 32))), "y": b64(ec.Y.FillBytes(make([]byte, 32)))}
	edJWK := map[string]string{"kty": "OKP", "kid": "ed1", "crv": "Ed25519", "x": b64(edPub)}
	encJWK := map[string]string{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}
	octJWK := map[string]string{"kty": "oct", "kid": "oct", "k": b64(secret)}

	srv := newJWKSServer(t)
	srv.set(rsaJWK("rsa1", &rsa1.PublicKey), ecJWK, edJWK, encJWK, octJWK)
	ks, err := jwt.NewJWKS(context.Background(), srv.URL, jwt.WithMinRefreshInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	base := startHTTP(t, jwt.Server(ks.Keyfunc))
	claims := jwtv5.MapClaims{"sub": "alice"}
	for name, tok := range map[string]string{
		"rs256": sign(t, jwtv5.SigningMethodRS256, rsa1, claims, "rsa1"),
		"es256": sign(t, jwtv5.SigningMethodES256, ec, claims, "ec1"),
		"eddsa": sign(t, jwtv5.SigningMethodEdDSA, edPriv, claims, "ed1"),
	} {
		t.Run(name, func(t *testing.T) {
			if r := do(t, "GET", base+"/me", "Bearer "+tok); r.status != 200 || r.body != "alice" {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	t.Run("key alg pinned by the JWK", func(t *testing.T) {
		tok := sign(t, jwtv5.SigningMethodPS256, rsa1, claims, "rsa1")
		if r := do(t, "GET", base+"/me", "Bearer "+tok); r.status != 401 {
			t.Fatalf("PS256 accepted for a key whose JWK says RS256: %d", r.status)
		}
	})
	t.Run("oct key in a published set is ignored", func(t *testing.T) {
		tok := sign(t, jwtv5.SigningMethodHS256, secret, claims, "oct")
		if r := do(t, "GET", base+"/me", "Bearer "+tok); r.status != 401 {
			t.Fatalf("HS256 with a published oct key: %d", r.status)
		}
	})

	// Rotation: a token with a new kid makes the set be fetched again.
	srv.set(rsaJWK("rsa1", &rsa1.PublicKey), rsaJWK("rsa2", &rsa2.PublicKey))
	ks2, err := jwt.NewJWKS(context.Background(), srv.URL, jwt.WithMinRefreshInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	srv.set(rsaJWK("rsa2", &rsa2.PublicKey), rsaJWK("rsa3", &rsa1.PublicKey))
	base2 := startHTTP(t, jwt.Server(ks2.Keyfunc))
	before := srv.fetches.Load()
	if r := do(t, "GET", base2+"/me", "Bearer "+sign(t, jwtv5.SigningMethodRS256, rsa1, claims, "rsa3")); r.status != 200 {
		t.Fatalf("rotated key rsa3: %d %s", r.status, r.body)
	}
	if srv.fetches.Load() != before+1 {
		t.Fatalf("fetches for an unknown kid = %d, want 1", srv.fetches.Load()-before)
	}

	// Unknown kids cannot force a fetch each: the first set has a 1h
	// minimum interval.
	before = srv.fetches.Load()
	for i := range 20 {
		tok := sign(t, jwtv5.SigningMethodRS256, rsa1, claims, fmt.Sprintf("made-up-%d", i))
		if r := do(t, "GET", base+"/me", "Bearer "+tok); r.status != 401 {
			t.Fatalf("made-up kid: %d", r.status)
		}
	}
	if n := srv.fetches.Load() - before; n != 0 {
		t.Fatalf("%d fetches for 20 made-up kids within the minimum interval, want 0", n)
	}
}

func TestJWKSErrors(t *testing.T) {
	srv := newJWKSServer(t)
	for _, tc := range []struct{ name, doc string }{
		{"not json", "{"},
		{"bad rsa", `{"keys":[{"kty":"RSA","kid":"a","n":"!!","e":"AQAB"}]}`},
		{"short rsa", `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`},
		{"bad curve", `{"keys":[{"kty":"EC","kid":"a","crv":"P-1","x":"AQ","y":"AQ"}]}`},
		{"point off curve", `{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"AQ","y":"AQ"}]}`},
		{"bad ed25519", `{"keys":[{"kty":"OKP","kid":"a","crv":"Ed25519","x":"AQ"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.mu.Lock()
			srv.doc = []byte(tc.doc)
			srv.mu.Unlock()
			if _, err := jwt.NewJWKS(context.Background(), srv.URL); err == nil || !strings.HasPrefix(err.Error(), "middleware/auth/jwt: ") {
				t.Fatalf("err = %v, want a middleware/auth/jwt error", err)
			}
		})
	}
	if _, err := jwt.NewJWKS(context.Background(), "http://127.0.0.1:1/jwks"); err == nil {
		t.Fatal("no error for an unreachable JWKS")
	}
}

type echo struct {
	testpb.UnimplementedTestServiceServer
}

func (echo) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	claims, _ := jwt.FromContext(ctx)
	sub, _ := claims.GetSubject()
	return &testpb.SimpleResponse{Username: sub}, nil
}

func TestGRPCClientSignsServerVerifies(t *testing.T) {
	srv := grpc.NewServer(grpc.Address("127.0.0.1:0"), grpc.Logger(log.NewStdLogger(io.Discard)), grpc.Middleware(jwt.Server(hmacKey)))
	testpb.RegisterTestServiceServer(srv, echo{})
	ep, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(context.Background()) }()
	defer func() {
		_ = srv.Stop(context.Background())
		<-done
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	signed, err := grpc.DialInsecure(ctx, grpc.WithEndpoint(ep.String()), grpc.WithMiddleware(jwt.Client(hmacKey,
		jwt.WithClaims(func() jwtv5.Claims {
			return jwtv5.RegisteredClaims{Subject: "order-service", ExpiresAt: jwtv5.NewNumericDate(time.Now().Add(time.Minute))}
		}))))
	if err != nil {
		t.Fatal(err)
	}
	defer signed.Close()
	res, err := testpb.NewTestServiceClient(signed).UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true))
	if err != nil || res.Username != "order-service" {
		t.Fatalf("signed call: %v, %v", res, err)
	}
	plain, err := grpc.DialInsecure(ctx, grpc.WithEndpoint(ep.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, err = testpb.NewTestServiceClient(plain).UnaryCall(ctx, &testpb.SimpleRequest{}, ggrpc.WaitForReady(true))
	if status.Code(err) != codes.Unauthenticated || errors.Reason(err) != jwt.Reason {
		t.Fatalf("unsigned call: %v, want Unauthenticated UNAUTHORIZED", err)
	}
}

func TestClientSigningError(t *testing.T) {
	mw := jwt.Client(func(*jwtv5.Token) (any, error) { return nil, io.EOF })
	// Without a client transport the middleware passes through.
	if _, err := mw(func(context.Context, any) (any, error) { return "ok", nil })(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := jwt.FromContext(context.Background()); ok {
		t.Fatal("claims in an empty context")
	}
	if _, err := jwt.Server(hmacKey)(nil)(context.Background(), nil); !errors.IsUnauthorized(err) {
		t.Fatalf("no transport: %v, want 401", err)
	}
}
