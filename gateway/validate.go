package gateway

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/zelos-go/zelos/internal/pathtpl"
)

// fieldError is a problem with one field, named by its path.
type fieldError struct {
	path string
	msg  string
}

// The protocols an endpoint can speak to its backends.
const (
	protoHTTP      = "http"
	protoH2C       = "h2c"
	protoGRPC      = "grpc"
	protoTranscode = "transcode"
)

var balancers = []string{"p2c", "random", "roundrobin", "wrr"}

var rateKeys = []string{"ip", "jwt_subject", "route"}

// validate checks everything that can be checked without the network.
func validate(c *Config) []*fieldError {
	var errs []*fieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, &fieldError{path: path, msg: fmt.Sprintf(format, args...)})
	}
	for name, p := range c.Policies {
		validatePolicy("policies."+name, p, add)
	}
	checkNames := func(path string, names []string) {
		for i, n := range names {
			if _, ok := c.Policies[n]; !ok {
				add(fmt.Sprintf("%s[%d]", path, i), "no policy is named %q (policies: %s)", n, strings.Join(sortedKeys(c.Policies), ", "))
			}
		}
	}
	checkNames("defaults.policies", c.Defaults.Policies)
	names := map[string]int{}
	for i, e := range c.Endpoints {
		path := fmt.Sprintf("endpoints[%d]", i)
		switch {
		case e.Path == "" && e.Prefix == "":
			add(path, "needs a path or a prefix")
		case e.Path != "" && e.Prefix != "":
			add(path, "has both a path and a prefix; set one")
		case e.Path != "":
			if _, err := pathtpl.Parse(e.Path); err != nil {
				add(path+".path", "%v", err)
			}
		default:
			if !strings.HasPrefix(e.Prefix, "/") {
				add(path+".prefix", "%q does not start with /", e.Prefix)
			} else if _, err := pathtpl.Parse(prefixTemplate(e.Prefix)); err != nil {
				add(path+".prefix", "%v", err)
			}
		}
		n := endpointName(e)
		if j, ok := names[n]; ok {
			add(path+".name", "%q is also the name of endpoints[%d]", n, j)
		}
		names[n] = i
		for j, m := range e.Methods {
			if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " /") {
				add(fmt.Sprintf("%s.methods[%d]", path, j), "%q is not an upper-case HTTP method", m)
			}
		}
		if e.Host != "" && (strings.Contains(e.Host, "/") || strings.Count(e.Host, "*") > 1 || (strings.Contains(e.Host, "*") && !strings.HasPrefix(e.Host, "*."))) {
			add(path+".host", "%q is not a host name or *.domain", e.Host)
		}
		proto := e.Protocol
		if proto == "" {
			proto = protoHTTP
		}
		if !slices.Contains([]string{protoHTTP, protoH2C, protoGRPC, protoTranscode}, proto) {
			add(path+".protocol", "%q is not http, h2c, grpc or transcode", e.Protocol)
		}
		if e.Descriptors != "" && proto != protoTranscode {
			add(path+".descriptors", "only a transcode endpoint has descriptors")
		}
		if e.Balancer != "" && !slices.Contains(balancers, e.Balancer) {
			add(path+".balancer", "%q is not one of %s", e.Balancer, strings.Join(balancers, ", "))
		}
		if len(e.Backends) == 0 {
			add(path+".backends", "needs at least one backend")
		}
		for j, b := range e.Backends {
			bp := fmt.Sprintf("%s.backends[%d]", path, j)
			if _, _, err := parseTarget(b.Target); err != nil {
				add(bp+".target", "%v", err)
			}
			if b.Weight < 0 {
				add(bp+".weight", "%d is negative", b.Weight)
			}
		}
		if e.Rewrite.StripPrefix != "" && !strings.HasPrefix(e.Rewrite.StripPrefix, "/") {
			add(path+".rewrite.strip_prefix", "%q does not start with /", e.Rewrite.StripPrefix)
		}
		if e.Rewrite.AddPrefix != "" && !strings.HasPrefix(e.Rewrite.AddPrefix, "/") {
			add(path+".rewrite.add_prefix", "%q does not start with /", e.Rewrite.AddPrefix)
		}
		checkHeaders(path+".request_headers", e.RequestHeaders, add)
		checkHeaders(path+".response_headers", e.ResponseHeaders, add)
		if e.Policies != nil {
			checkNames(path+".policies", *e.Policies)
		}
	}
	return errs
}

func validatePolicy(path string, p Policy, add func(path, format string, args ...any)) {
	set := 0
	for _, b := range []bool{p.JWT != nil, p.CORS != nil, p.RateLimit != nil, p.Breaker != nil, p.Retry != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		add(path, "sets %d of jwt, cors, ratelimit, breaker and retry; a policy is exactly one", set)
		return
	}
	switch {
	case p.JWT != nil:
		if (p.JWT.Secret == "") == (p.JWT.JWKS == "") {
			add(path+".jwt", "needs exactly one of secret and jwks")
		}
		if p.JWT.JWKS != "" {
			if u, err := url.Parse(p.JWT.JWKS); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(path+".jwt.jwks", "%q is not an http(s) URL", p.JWT.JWKS)
			}
		}
	case p.CORS != nil:
		if p.CORS.AllowCredentials && (len(p.CORS.AllowedOrigins) == 0 || slices.Contains(p.CORS.AllowedOrigins, "*")) {
			add(path+".cors.allow_credentials", "cannot be combined with the origin \"*\"; list the origins")
		}
		for i, o := range p.CORS.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				add(fmt.Sprintf("%s.cors.allowed_origins[%d]", path, i), "%q has more than one *", o)
			}
		}
	case p.RateLimit != nil:
		r := p.RateLimit
		if !slices.Contains(rateKeys, r.Key) && !strings.HasPrefix(r.Key, "header:") {
			add(path+".ratelimit.key", "%q is not ip, jwt_subject, route or header:Name", r.Key)
		}
		if r.Rate <= 0 {
			add(path+".ratelimit.rate", "must be positive")
		}
	case p.Breaker != nil:
		b := p.Breaker
		if b.FailureRatio < 0 || b.FailureRatio > 1 {
			add(path+".breaker.failure_ratio", "%v is not within 0 and 1", b.FailureRatio)
		}
		if b.MinRequests < 0 {
			add(path+".breaker.min_requests", "is negative")
		}
		if f := b.Fallback; f != nil && (f.Status < 200 || f.Status > 599) {
			add(path+".breaker.fallback.status", "%d is not an HTTP status", f.Status)
		}
	case p.Retry != nil:
		if p.Retry.Attempts < 0 || p.Retry.Attempts > 10 {
			add(path+".retry.attempts", "%d is not within 1 and 10", p.Retry.Attempts)
		}
		if p.Retry.BudgetRate < 0 || p.Retry.BudgetRate > 1 {
			add(path+".retry.budget_ratio", "%v is not within 0 and 1", p.Retry.BudgetRate)
		}
	}
}

func checkHeaders(path string, h HeaderRules, add func(path, format string, args ...any)) {
	for k := range h.Set {
		if !validHeaderName(k) {
			add(path+".set."+k, "%q is not a header name", k)
		}
	}
	for i, k := range h.Remove {
		if !validHeaderName(k) {
			add(fmt.Sprintf("%s.remove[%d]", path, i), "%q is not a header name", k)
		}
	}
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// parseTarget splits a backend target into a discovered service name, or
// a fixed URL.
func parseTarget(t string) (service string, fixed *url.URL, err error) {
	u, err := url.Parse(t)
	if err != nil || t == "" {
		return "", nil, fmt.Errorf("%q is not discovery:///name or an http(s)/grpc URL", t)
	}
	switch u.Scheme {
	case "discovery":
		name := strings.TrimPrefix(u.Path, "/")
		if u.Host != "" || name == "" || strings.Contains(name, "/") {
			return "", nil, fmt.Errorf("%q is not discovery:///name (three slashes, one name)", t)
		}
		return name, nil, nil
	case "http", "https", "grpc":
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return "", nil, fmt.Errorf("%q is not a URL with a host and no path", t)
		}
		return "", u, nil
	}
	return "", nil, fmt.Errorf("%q is not discovery:///name or an http(s)/grpc URL", t)
}

// prefixTemplate is the template matching everything under prefix.
func prefixTemplate(prefix string) string {
	p := strings.TrimRight(prefix, "/")
	return p + "/**"
}

// endpointName is an endpoint's name, defaulting to its path or prefix.
func endpointName(e Endpoint) string {
	switch {
	case e.Name != "":
		return e.Name
	case e.Path != "":
		return strings.TrimSpace(strings.Join(e.Methods, ",") + " " + e.Path)
	}
	return strings.TrimSpace(strings.Join(e.Methods, ",") + " " + prefixTemplate(e.Prefix))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
