package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	nethttp "net/http"
	"sync"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"
)

// maxJWKSSize bounds a JWKS document; real ones are a few KB.
const maxJWKSSize = 1 << 20

// JWKS is a set of verification keys fetched from a JSON Web Key Set URL
// (RFC 7517), such as an identity provider's jwks_uri. Its Keyfunc finds a
// token's key by kid.
//
// Keys are cached. The set is fetched again in the background once it is
// older than the refresh interval, and at once when a token names a kid the
// set does not hold (a key rotation), at most once per minimum interval so
// that tokens with made-up kids cannot turn into a flood of fetches. A
// failed fetch keeps the keys already known.
type JWKS struct {
	url         string
	client      *nethttp.Client
	refresh     time.Duration
	minInterval time.Duration

	mu        sync.Mutex
	keys      map[string]jwk
	fetchedAt time.Time
	triedAt   time.Time
	fetching  bool
}

// jwk is one parsed key and the algorithm its JWK pins, if any.
type jwk struct {
	key any
	alg string
}

// JWKSOption configures NewJWKS.
type JWKSOption func(*JWKS)

// WithHTTPClient sets the client the set is fetched with. The default is a
// client with a 10s timeout.
func WithHTTPClient(c *nethttp.Client) JWKSOption {
	return func(j *JWKS) { j.client = c }
}

// WithRefreshInterval sets how old the set may get before it is fetched
// again. The default is 1h.
func WithRefreshInterval(d time.Duration) JWKSOption {
	return func(j *JWKS) { j.refresh = d }
}

// WithMinRefreshInterval sets the least time between two fetches. The
// default is 1m.
func WithMinRefreshInterval(d time.Duration) JWKSOption {
	return func(j *JWKS) { j.minInterval = d }
}

// NewJWKS fetches the key set at url. It fails if the first fetch does, so
// that a service with a wrong URL does not start.
func NewJWKS(ctx context.Context, url string, opts ...JWKSOption) (*JWKS, error) {
	j := &JWKS{url: url, client: &nethttp.Client{Timeout: 10 * time.Second}, refresh: time.Hour, minInterval: time.Minute}
	for _, o := range opts {
		o(j)
	}
	keys, err := j.fetch(ctx)
	if err != nil {
		return nil, err
	}
	j.keys, j.fetchedAt, j.triedAt = keys, time.Now(), time.Now()
	return j, nil
}

// Keyfunc returns the key of t's kid, for Server.
func (j *JWKS) Keyfunc(t *jwtv5.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := j.lookup(kid)
	if !ok {
		j.refetch()
		if k, ok = j.lookup(kid); !ok {
			return nil, fmt.Errorf("middleware/auth/jwt: no key with kid %.64q in %s", kid, j.url)
		}
	}
	if k.alg != "" && k.alg != t.Method.Alg() {
		return nil, fmt.Errorf("middleware/auth/jwt: key %.64q is for %s, token uses %s", kid, k.alg, t.Method.Alg())
	}
	return k.key, nil
}

// lookup returns the key of kid, and starts a background refresh if the
// set is stale.
func (j *JWKS) lookup(kid string) (jwk, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if time.Since(j.fetchedAt) > j.refresh && !j.fetching && time.Since(j.triedAt) >= j.minInterval {
		j.fetching, j.triedAt = true, time.Now()
		go j.update()
	}
	k, ok := j.keys[kid]
	if !ok && kid == "" && len(j.keys) == 1 {
		// A token without kid may use the only key of a one-key set.
		for _, only := range j.keys {
			return only, true
		}
	}
	return k, ok
}

// refetch fetches the set now, for an unknown kid, unless a fetch was tried
// within the minimum interval.
func (j *JWKS) refetch() {
	j.mu.Lock()
	if j.fetching || time.Since(j.triedAt) < j.minInterval {
		j.mu.Unlock()
		return
	}
	j.fetching, j.triedAt = true, time.Now()
	j.mu.Unlock()
	j.update()
}

func (j *JWKS) update() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys, err := j.fetch(ctx)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fetching = false
	if err == nil {
		j.keys, j.fetchedAt = keys, time.Now()
	}
}

func (j *JWKS) fetch(ctx context.Context) (map[string]jwk, error) {
	req, err := nethttp.NewRequestWithContext(ctx, "GET", j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("middleware/auth/jwt: jwks url %q: %w", j.url, err)
	}
	res, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("middleware/auth/jwt: fetch jwks: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != nethttp.StatusOK {
		return nil, fmt.Errorf("middleware/auth/jwt: fetch jwks %s: status %d", j.url, res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("middleware/auth/jwt: fetch jwks %s: %w", j.url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("middleware/auth/jwt: jwks %s is over %d bytes", j.url, maxJWKSSize)
	}
	return parseJWKS(body)
}

// rawJWK is the JSON of one key; only the members Zelos uses.
type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS parses a JSON Web Key Set into keys by kid. It takes RSA, EC
// (P-256, P-384, P-521) and OKP (Ed25519) public keys, skips keys whose use
// is not "sig" and key types it does not know (such as symmetric "oct"
// keys, which have no place in a published set), and fails on a key it
// knows but cannot parse.
func parseJWKS(data []byte) (map[string]jwk, error) {
	var set struct {
		Keys []rawJWK `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("middleware/auth/jwt: jwks: %w", err)
	}
	keys := make(map[string]jwk, len(set.Keys))
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.public()
		if err != nil {
			return nil, fmt.Errorf("middleware/auth/jwt: jwks key %d (kid %.64q): %w", i, k.Kid, err)
		}
		if key != nil {
			keys[k.Kid] = jwk{key: key, alg: k.Alg}
		}
	}
	return keys, nil
}

func (k rawJWK) public() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64int(k.N)
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		e, err := b64int(k.E)
		if err != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31 {
			return nil, fmt.Errorf("bad e")
		}
		if n.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits, want at least 2048", n.BitLen())
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unknown curve %.16q", k.Crv)
		}
		x, err1 := b64int(k.X)
		y, err2 := b64int(k.Y)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad x or y")
		}
		// Rebuild the point through its uncompressed encoding, which
		// crypto/ecdh checks lies on the curve.
		size := (curve.Params().BitSize + 7) / 8
		if len(x.Bytes()) > size || len(y.Bytes()) > size {
			return nil, fmt.Errorf("x or y too long")
		}
		enc := make([]byte, 1+2*size)
		enc[0] = 4
		x.FillBytes(enc[1 : 1+size])
		y.FillBytes(enc[1+size:])
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, enc)
		if err != nil {
			return nil, err
		}
		return pub, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unknown curve %.16q", k.Crv)
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("bad x")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return new(big.Int).SetBytes(b), nil
}
