package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"
)

// TestJWKSPolicy: a jwt policy with a JWKS URL accepts RS256 tokens signed
// by a key of the set and refuses others.
func TestJWKSPolicy(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	defer jwks.Close()
	sign := func(k *rsa.PrivateKey) string {
		tok := jwtv5.NewWithClaims(jwtv5.SigningMethodRS256, jwtv5.RegisteredClaims{Subject: "u9", Issuer: "https://id.example", ExpiresAt: jwtv5.NewNumericDate(time.Now().Add(time.Hour))})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b := echoBackend(t, "b")
	_, url := startGateway(t, fmt.Sprintf(`
policies:
  auth: {jwt: {jwks: %s, issuer: "https://id.example", forward_subject: X-User-Id}}
defaults: {policies: [auth]}
endpoints:
  - {prefix: /, backends: [{target: %s}]}
`, jwks.URL, b.URL))
	code, _, body := get(t, url+"/x", "Authorization", "Bearer "+sign(key))
	if code != 200 || !strings.Contains(body, `"X-User-Id":["u9"]`) {
		t.Fatalf("key of the set: %d %s", code, body)
	}
	if code, _, body := get(t, url+"/x", "Authorization", "Bearer "+sign(other)); code != 401 {
		t.Fatalf("another key: %d %s", code, body)
	}
}
