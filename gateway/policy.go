package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/deadline"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/auth/jwt"
	"github.com/zelos-go/zelos/middleware/circuitbreaker"
	"github.com/zelos-go/zelos/middleware/cors"
	"github.com/zelos-go/zelos/middleware/logging"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/middleware/ratelimit"
	"github.com/zelos-go/zelos/middleware/retry"
	"github.com/zelos-go/zelos/middleware/tracing"
	"github.com/zelos-go/zelos/resilience/budget"
	"github.com/zelos-go/zelos/transport"
)

// Defaults of the settings a configuration leaves out.
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 4 << 20
)

// compileEndpoint builds an endpoint: its pool, its proxy or transcoder,
// and its chains of policies, all from the Zelos middleware.
func (g *Gateway) compileEndpoint(cfg *Config, e Endpoint) (*endpoint, error) {
	ep := &endpoint{
		name:      endpointName(e),
		protocol:  e.Protocol,
		timeout:   time.Duration(e.Timeout),
		maxBody:   int64(e.MaxBody),
		rewrite:   e.Rewrite,
		accessLog: cfg.Defaults.AccessLog == nil || *cfg.Defaults.AccessLog,
	}
	if ep.protocol == "" {
		ep.protocol = protoHTTP
	}
	ep.route = e.Path
	if ep.route == "" {
		ep.route = prefixTemplate(e.Prefix)
	}
	if ep.timeout == 0 {
		ep.timeout = time.Duration(cfg.Defaults.Timeout)
	}
	if ep.timeout == 0 {
		ep.timeout = DefaultTimeout
	}
	ep.timeoutValue = deadline.Format(ep.timeout)
	if ep.maxBody == 0 {
		ep.maxBody = int64(cfg.Defaults.MaxBody)
	}
	if ep.maxBody == 0 {
		ep.maxBody = DefaultMaxBody
	}
	for k, v := range e.RequestHeaders.Set {
		ep.reqSet = append(ep.reqSet, [2]string{http.CanonicalHeaderKey(k), v})
	}
	ep.reqDel = canonical(e.RequestHeaders.Remove)
	for k, v := range e.ResponseHeaders.Set {
		ep.respSet = append(ep.respSet, [2]string{http.CanonicalHeaderKey(k), v})
	}
	ep.respDel = canonical(e.ResponseHeaders.Remove)

	scheme := "http"
	if ep.protocol == protoGRPC || ep.protocol == protoTranscode {
		scheme = "grpc"
	}
	p, err := g.pools.acquire(poolKey(scheme+"/"+ep.protocol, e.Balancer, e.Backends), scheme, e.Balancer, e.Backends)
	if err != nil {
		return ep, err
	}
	ep.pool = p
	ep.service = p.service

	names := cfg.Defaults.Policies
	if e.Policies != nil {
		names = *e.Policies
	}
	var server, client []middleware.Middleware
	// Tracing and metrics run when the gateway is given their providers
	// (zelos-gateway always gives a MeterProvider, and a TracerProvider when
	// OTLP is configured): with none, they would cost every request spans
	// and instruments that go nowhere.
	if g.opts.tp != nil {
		server = append(server, tracing.Server(tracing.WithTracerProvider(g.opts.tp)))
	}
	if g.opts.mp != nil {
		server = append(server, metrics.Server(metrics.WithMeterProvider(g.opts.mp)))
	}
	if ep.accessLog {
		server = append(server, logging.Server(logging.WithLogger(g.opts.logger)))
	}
	var retryMW middleware.Middleware
	for _, n := range names {
		pol := cfg.Policies[n]
		switch {
		case pol.CORS != nil:
			ep.cors = true
			server = append(server, cors.CORS(corsOptions(pol.CORS)...))
		case pol.JWT != nil:
			mw, err := g.jwtMiddleware(pol.JWT)
			if err != nil {
				return ep, fmt.Errorf("policy %s: %w", n, err)
			}
			if pol.JWT.QueryParam != "" {
				server = append(server, tokenFromQuery(pol.JWT.QueryParam))
			}
			server = append(server, mw)
			if pol.JWT.ForwardSubject != "" {
				ep.subject = http.CanonicalHeaderKey(pol.JWT.ForwardSubject)
				server = append(server, forwardSubject(ep.subject))
			}
		case pol.RateLimit != nil:
			server = append(server, rateLimit(ep, pol.RateLimit))
		case pol.Breaker != nil:
			client = append(client, g.breaker(ep, pol.Breaker))
		case pol.Retry != nil:
			retryMW = g.retry(pol.Retry)
		}
	}
	// The client side: the backend call's transporter (for the retry's and
	// the tracer's headers), the breaker, the retry, and a client span per
	// attempt.
	var attemptMW []middleware.Middleware
	if g.opts.tp != nil {
		attemptMW = append(attemptMW, tracing.Client(tracing.WithTracerProvider(g.opts.tp)))
	}
	if retryMW != nil || len(attemptMW) > 0 {
		client = append([]middleware.Middleware{clientContext(ep)}, client...)
	}
	inner := middleware.Handler(g.proxyCall)
	if ep.protocol == protoTranscode {
		tc, err := g.newTranscoder(ep, e)
		if err != nil {
			return ep, err
		}
		ep.tc = tc
		inner = tc.invoke
	} else {
		ep.proxy = g.newProxy(ep)
	}
	build := func(withRetry bool) middleware.Handler {
		mws := append(append([]middleware.Middleware{}, server...), client...)
		if withRetry {
			mws = append(mws, retryMW)
		}
		mws = append(mws, attemptMW...)
		return middleware.Chain(mws...)(inner)
	}
	ep.unsafe = build(false)
	if retryMW != nil {
		ep.safe = build(true)
	}
	return ep, nil
}

func canonical(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = http.CanonicalHeaderKey(k)
	}
	return out
}

// clientContext puts the backend call's client Transporter in the context.
func clientContext(ep *endpoint) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			ct := &clientTransport{ep: ep, header: http.Header{}}
			return next(transport.NewClientContext(ctx, ct), req)
		}
	}
}

func corsOptions(p *CORSPolicy) []cors.Option {
	var o []cors.Option
	if len(p.AllowedOrigins) > 0 {
		o = append(o, cors.WithAllowedOrigins(p.AllowedOrigins...))
	}
	if len(p.AllowedMethods) > 0 {
		o = append(o, cors.WithAllowedMethods(p.AllowedMethods...))
	}
	if len(p.AllowedHeaders) > 0 {
		o = append(o, cors.WithAllowedHeaders(p.AllowedHeaders...))
	}
	if len(p.ExposedHeaders) > 0 {
		o = append(o, cors.WithExposedHeaders(p.ExposedHeaders...))
	}
	if p.AllowCredentials {
		o = append(o, cors.WithAllowCredentials(true))
	}
	if p.MaxAge != 0 {
		o = append(o, cors.WithMaxAge(p.MaxAge))
	}
	return o
}

// jwtMiddleware verifies bearer tokens with a secret (HS256) or a JWKS.
func (g *Gateway) jwtMiddleware(p *JWTPolicy) (middleware.Middleware, error) {
	var opts []jwt.Option
	if p.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(p.Issuer))
	}
	if p.Audience != "" {
		opts = append(opts, jwt.WithAudience(p.Audience))
	}
	if p.Secret != "" {
		secret := []byte(p.Secret)
		opts = append(opts, jwt.WithSigningMethod(jwtv5.SigningMethodHS256))
		return jwt.Server(func(*jwtv5.Token) (any, error) { return secret, nil }, opts...), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ks, err := jwt.NewJWKS(ctx, p.JWKS)
	if err != nil {
		return nil, fmt.Errorf("loading the JWKS %s: %w", p.JWKS, err)
	}
	return jwt.Server(ks.Keyfunc, opts...), nil
}

// tokenFromQuery moves a token from the query parameter name to the
// Authorization header when the request has none.
func tokenFromQuery(name string) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			if tr, ok := transport.FromServerContext(ctx); ok {
				if st, ok := tr.(*serverTransport); ok && st.c.r.Header.Get("Authorization") == "" {
					if v := st.c.r.URL.Query().Get(name); v != "" {
						st.c.r.Header.Set("Authorization", "Bearer "+v)
					}
				}
			}
			return next(ctx, req)
		}
	}
}

// forwardSubject sends the verified token's subject to the backend in a
// header, replacing any value the client sent.
func forwardSubject(header string) middleware.Middleware {
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			if tr, ok := transport.FromServerContext(ctx); ok {
				if st, ok := tr.(*serverTransport); ok {
					st.c.r.Header.Del(header)
				}
				if claims, ok := jwt.FromContext(ctx); ok {
					if sub, err := claims.GetSubject(); err == nil && sub != "" {
						tr.RequestHeader().Set(header, sub)
					}
				}
			}
			return next(ctx, req)
		}
	}
}

// rateLimit is a token bucket per key, from middleware/ratelimit.
func rateLimit(ep *endpoint, p *RateLimitPolicy) middleware.Middleware {
	interval := time.Duration(p.Interval)
	if interval == 0 {
		interval = time.Second
	}
	opts := []ratelimit.LimiterOption{ratelimit.WithInterval(interval), ratelimit.WithBurst(p.Rate)}
	switch {
	case p.Key == "ip":
		opts = append(opts, ratelimit.WithKey(clientIP))
	case p.Key == "jwt_subject":
		opts = append(opts, ratelimit.WithKey(func(ctx context.Context) string {
			if claims, ok := jwt.FromContext(ctx); ok {
				if sub, err := claims.GetSubject(); err == nil && sub != "" {
					return "sub:" + sub
				}
			}
			return "ip:" + clientIP(ctx)
		}))
	case strings.HasPrefix(p.Key, "header:"):
		name := http.CanonicalHeaderKey(strings.TrimPrefix(p.Key, "header:"))
		opts = append(opts, ratelimit.WithKey(func(ctx context.Context) string {
			if tr, ok := transport.FromServerContext(ctx); ok {
				return tr.RequestHeader().Get(name)
			}
			return ""
		}))
	}
	return ratelimit.Server(ratelimit.WithLimiter(ratelimit.NewMemoryLimiter(opts...)))
}

// clientIP is the address the request came from. X-Forwarded-For is not
// trusted: a client could set it to spread itself over many buckets.
func clientIP(ctx context.Context) string {
	tr, ok := transport.FromServerContext(ctx)
	if !ok {
		return ""
	}
	st, ok := tr.(*serverTransport)
	if !ok {
		return ""
	}
	host, _, err := net.SplitHostPort(st.c.r.RemoteAddr)
	if err != nil {
		return st.c.r.RemoteAddr
	}
	return host
}

// breaker is a circuit breaker per endpoint, from middleware/circuitbreaker.
func (g *Gateway) breaker(ep *endpoint, p *BreakerPolicy) middleware.Middleware {
	opts := []circuitbreaker.Option{circuitbreaker.WithCommandName(ep.name)}
	if p.FailureRatio > 0 {
		opts = append(opts, circuitbreaker.WithFailureRatio(p.FailureRatio))
	}
	if p.MinRequests > 0 {
		opts = append(opts, circuitbreaker.WithMinRequests(p.MinRequests))
	}
	if p.Window > 0 {
		opts = append(opts, circuitbreaker.WithInterval(time.Duration(p.Window)))
	}
	if p.OpenFor > 0 {
		opts = append(opts, circuitbreaker.WithTimeout(time.Duration(p.OpenFor)))
	}
	if g.opts.mp != nil {
		opts = append(opts, circuitbreaker.WithMeterProvider(g.opts.mp))
	}
	if f := p.Fallback; f != nil {
		ct := f.ContentType
		if ct == "" {
			ct = "application/json"
		}
		body := []byte(f.Body)
		opts = append(opts, circuitbreaker.WithFallback(func(ctx context.Context, req any, err error) (any, error) {
			c, ok := req.(*call)
			if !ok {
				return nil, err
			}
			c.w.Header().Set("Content-Type", ct)
			c.w.WriteHeader(f.Status)
			_, _ = c.w.Write(body)
			return nil, nil
		}))
	}
	return circuitbreaker.Client(opts...)
}

// retry retries attempts that failed before the reply started, from
// middleware/retry with a budget.
func (g *Gateway) retry(p *RetryPolicy) middleware.Middleware {
	opts := []retry.Option{retry.WithRetryable(func(err error) bool {
		// An unreachable instance is worth another: the next attempt goes
		// to an instance not tried yet.
		if errors.Code(err) == http.StatusBadGateway && errors.Reason(err) == ReasonBackendUnavailable {
			return true
		}
		return retry.DefaultRetryable(err)
	})}
	if p.Attempts > 0 {
		opts = append(opts, retry.WithAttempts(p.Attempts))
	}
	if p.Delay > 0 {
		opts = append(opts, retry.WithDelay(time.Duration(p.Delay)))
	}
	if p.PerTry > 0 {
		opts = append(opts, retry.WithPerTryTimeout(time.Duration(p.PerTry)))
	}
	if p.BudgetRate > 0 {
		opts = append(opts, retry.WithBudget(budget.New(budget.WithRatio(p.BudgetRate))))
	}
	if g.opts.mp != nil {
		opts = append(opts, retry.WithMeterProvider(g.opts.mp))
	}
	return retry.Client(opts...)
}
