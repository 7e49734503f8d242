package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is a gateway configuration, as read from YAML by ParseConfig or
// LoadConfig. The schema, with every field, is documented in README.md; the
// zero value of a field means its default.
type Config struct {
	// Listen is the public address; default ":8000".
	Listen string `yaml:"listen"`
	// Admin is the admin address serving /metrics, pprof and the probes,
	// used by zelos-gateway; default "127.0.0.1:9090", "off" for none.
	Admin string `yaml:"admin"`
	// Registry is the registry zelos-gateway finds discovery:/// backends
	// in: "memory", "etcd://host:2379,host:2379" or "consul://host:8500".
	// Library users pass WithDiscovery instead.
	Registry string `yaml:"registry"`
	// DrainDelay is how long zelos-gateway keeps serving after a stop
	// signal while /readyz already fails, so that load balancers stop
	// sending it traffic first (zelos.DrainDelay); default 0.
	DrainDelay Duration `yaml:"drain_delay"`
	// Defaults apply to every endpoint that does not set its own.
	Defaults Defaults `yaml:"defaults"`
	// Policies are named policies, referred to by Defaults.Policies and
	// Endpoint.Policies.
	Policies map[string]Policy `yaml:"policies"`
	// Endpoints are the routes, matched most specific first.
	Endpoints []Endpoint `yaml:"endpoints"`
}

// Defaults are the settings endpoints inherit.
type Defaults struct {
	// Timeout bounds a request from its arrival to the end of its reply
	// head (streams are bounded only by their own end); default 30s.
	Timeout Duration `yaml:"timeout"`
	// MaxBody caps request bodies; default 4MiB. Over it the reply is 413.
	MaxBody Size `yaml:"max_body"`
	// Policies are the names of the policies applied to endpoints that do
	// not list their own.
	Policies []string `yaml:"policies"`
	// AccessLog turns the access log off when false; default on.
	AccessLog *bool `yaml:"access_log"`
}

// Endpoint is one route: what it matches, where it goes and how.
type Endpoint struct {
	// Name names the endpoint in logs, metrics, traces and errors; default
	// the path or prefix.
	Name string `yaml:"name"`
	// Path is a google.api.http path template such as /v1/users/{id}; a
	// template with no variable or wildcard matches exactly.
	Path string `yaml:"path"`
	// Prefix matches the path itself and every path under it, at segment
	// boundaries. Exactly one of Path and Prefix is set.
	Prefix string `yaml:"prefix"`
	// Methods restricts the HTTP methods; empty means any.
	Methods []string `yaml:"methods"`
	// Host restricts the Host header: "api.example.com" or "*.example.com".
	Host string `yaml:"host"`
	// Protocol is how the gateway talks to the backends: "http" (HTTP/1.1,
	// the default; WebSocket and SSE pass through), "h2c" (HTTP/2 without
	// TLS), "grpc" (gRPC pass-through) or "transcode" (JSON to gRPC by the
	// methods' google.api.http rules).
	Protocol string `yaml:"protocol"`
	// Descriptors, for transcode, is where the gRPC descriptors come from:
	// "reflection" (the default: the backend's reflection service) or the
	// path of a FileDescriptorSet file (protoc -o, buf build -o).
	Descriptors string `yaml:"descriptors"`
	// Backends are the targets: discovery:///service or fixed URLs.
	Backends []Backend `yaml:"backends"`
	// Balancer is the selector balancer: p2c (default), random,
	// roundrobin or wrr.
	Balancer string `yaml:"balancer"`
	// Timeout overrides Defaults.Timeout.
	Timeout Duration `yaml:"timeout"`
	// MaxBody overrides Defaults.MaxBody.
	MaxBody Size `yaml:"max_body"`
	// Rewrite changes the path sent to the backend.
	Rewrite Rewrite `yaml:"rewrite"`
	// RequestHeaders change the headers sent to the backend.
	RequestHeaders HeaderRules `yaml:"request_headers"`
	// ResponseHeaders change the headers sent back to the client.
	ResponseHeaders HeaderRules `yaml:"response_headers"`
	// Policies names the policies of this endpoint, replacing
	// Defaults.Policies; an empty list means none.
	Policies *[]string `yaml:"policies"`
}

// Backend is one target of an endpoint.
type Backend struct {
	// Target is discovery:///service (instances from the registry) or a
	// URL such as http://10.0.0.1:8000.
	Target string `yaml:"target"`
	// Weight is the share of traffic of a fixed URL, or of every instance
	// of a discovered service that carries no weight metadata; default 100.
	Weight int64 `yaml:"weight"`
}

// Rewrite changes the request path.
type Rewrite struct {
	// StripPrefix is removed from the start of the path.
	StripPrefix string `yaml:"strip_prefix"`
	// AddPrefix is put in front of the path, after StripPrefix.
	AddPrefix string `yaml:"add_prefix"`
}

// HeaderRules set and remove headers.
type HeaderRules struct {
	// Set replaces headers.
	Set map[string]string `yaml:"set"`
	// Remove deletes headers.
	Remove []string `yaml:"remove"`
}

// Policy is one named policy: exactly one of its fields is set.
type Policy struct {
	// JWT requires a valid bearer token.
	JWT *JWTPolicy `yaml:"jwt"`
	// CORS answers preflights and adds CORS headers.
	CORS *CORSPolicy `yaml:"cors"`
	// RateLimit limits requests per key.
	RateLimit *RateLimitPolicy `yaml:"ratelimit"`
	// Breaker is a circuit breaker toward the endpoint's backends.
	Breaker *BreakerPolicy `yaml:"breaker"`
	// Retry retries failed attempts where that is safe.
	Retry *RetryPolicy `yaml:"retry"`
}

// JWTPolicy configures bearer-token verification (middleware/auth/jwt).
type JWTPolicy struct {
	// Secret is the HMAC key (HS256/384/512); use ${ENV} placeholders.
	Secret string `yaml:"secret"`
	// JWKS is the URL of a JSON Web Key Set (RS*, ES*, EdDSA keys).
	JWKS string `yaml:"jwks"`
	// Issuer, when set, must match the iss claim.
	Issuer string `yaml:"issuer"`
	// Audience, when set, must be in the aud claim.
	Audience string `yaml:"audience"`
	// QueryParam, when set, is a query parameter the token may come in when
	// the request has no Authorization header: browsers cannot set headers
	// on WebSocket and EventSource requests.
	QueryParam string `yaml:"query_param"`
	// ForwardSubject names a request header set to the token's subject for
	// the backend (for example X-User-Id); empty sends none.
	ForwardSubject string `yaml:"forward_subject"`
}

// CORSPolicy configures middleware/cors.
type CORSPolicy struct {
	// AllowedOrigins are origins such as https://shop.example, with one
	// "*" for subdomains; default "*".
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedMethods default to GET, HEAD, POST, PUT, PATCH and DELETE.
	AllowedMethods []string `yaml:"allowed_methods"`
	// AllowedHeaders default to the usual request headers and Authorization.
	AllowedHeaders []string `yaml:"allowed_headers"`
	// ExposedHeaders are reply headers scripts may read.
	ExposedHeaders []string `yaml:"exposed_headers"`
	// AllowCredentials lets browsers send cookies and HTTP authentication;
	// it needs listed origins.
	AllowCredentials bool `yaml:"allow_credentials"`
	// MaxAge is how long, in seconds, a preflight's answer may be cached.
	MaxAge int `yaml:"max_age"`
}

// RateLimitPolicy configures a token bucket per key (middleware/ratelimit).
type RateLimitPolicy struct {
	// Key is what is limited: "ip" (the client address), "jwt_subject"
	// (the token's subject, the client address without one), "route" (the
	// whole endpoint) or "header:Name".
	Key string `yaml:"key"`
	// Rate requests are allowed per Interval (default 1s), all of them at
	// once if they come at once.
	Rate     int      `yaml:"rate"`
	Interval Duration `yaml:"interval"`
}

// BreakerPolicy configures middleware/circuitbreaker toward the backends.
type BreakerPolicy struct {
	// FailureRatio of failed calls in the window opens the breaker.
	FailureRatio float64 `yaml:"failure_ratio"`
	// MinRequests in the window before the ratio counts.
	MinRequests int `yaml:"min_requests"`
	// Window is how far back calls count.
	Window Duration `yaml:"window"`
	// OpenFor is how long the breaker stays open before probing again.
	OpenFor Duration `yaml:"open_for"`
	// Fallback, when set, is the reply while the breaker is open.
	Fallback *Fallback `yaml:"fallback"`
}

// Fallback is a fixed reply.
type Fallback struct {
	// Status is the reply's status code.
	Status int `yaml:"status"`
	// ContentType defaults to application/json.
	ContentType string `yaml:"content_type"`
	// Body is sent as it is.
	Body string `yaml:"body"`
}

// RetryPolicy configures middleware/retry. Only safe requests are retried:
// GET, HEAD, OPTIONS, PUT and DELETE, and others carrying an
// Idempotency-Key header; their bodies are kept for the retry.
type RetryPolicy struct {
	// Attempts in all, the first included; default 3.
	Attempts int `yaml:"attempts"`
	// Delay before the first retry, doubling after; default 100ms.
	Delay Duration `yaml:"delay"`
	// PerTry bounds each attempt; default none.
	PerTry Duration `yaml:"per_try_timeout"`
	// BudgetRate is the share of requests that may be retries; default 0.1
	// (plus one a second).
	BudgetRate float64 `yaml:"budget_ratio"`
}

// Duration is a time.Duration written as "1.5s" or "300ms" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if strings.Contains(s, "${") {
		return nil // checked once the placeholder is resolved
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return lineError(n, fmt.Sprintf("invalid duration %q (want e.g. 500ms or 2s)", s))
	}
	*d = Duration(v)
	return nil
}

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Size is a byte count written as 1048576, "512KiB", "4MiB" or "1GiB".
type Size int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	var str string
	if err := n.Decode(&str); err != nil {
		return err
	}
	if strings.Contains(str, "${") {
		return nil // checked once the placeholder is resolved
	}
	v, err := parseSize(str)
	if err != nil {
		return lineError(n, err.Error())
	}
	*s = Size(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (s Size) MarshalYAML() (any, error) { return int64(s), nil }

func parseSize(str string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSpace(str)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}, {"B", 1}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<40)/mult {
		return 0, fmt.Errorf("invalid size %q (want e.g. 1048576, 512KiB or 4MiB)", str)
	}
	return v * mult, nil
}

// lineError is a decoding error yaml.v3 collects with the others, so that
// every bad value is reported with its line.
func lineError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}
