// Package cors lets browsers call a Zelos HTTP API from other origins
// (Cross-Origin Resource Sharing).
//
//	srv := http.NewServer(
//		http.Middleware(
//			cors.CORS(cors.WithAllowedOrigins("https://app.example.com", "https://*.example.com")),
//			auth.JWTAuth(auth.WithSecret(secret)),
//		),
//	)
//
// CORS is server middleware. It answers every preflight (an OPTIONS request
// with Origin and Access-Control-Request-Method) itself, with 204 and no
// body: the preflight never reaches the middleware after it nor the
// handler, so authentication placed after CORS does not reject it. The
// HTTP server runs its middleware chain for OPTIONS requests to paths
// registered only for other methods, so preflights work for every path; a
// route of its own for OPTIONS (or for any method) still gets the OPTIONS
// requests that are not preflights. On other requests CORS sets its reply
// headers before calling the rest of the chain, since the HTTP transport
// writes the reply inside the chain: error replies (a 401 from JWT
// middleware placed after it, a 429 from a rate limiter) thus carry them
// too, and the browser lets the page read them.
//
// Filter is the same policy as net/http middleware, for http.Filter or any
// net/http server; as a server filter it runs before routing. Choose it
// when replies that no route produces must carry CORS headers too: the 404
// of an unknown path and the 405 of a method without a route are written
// by the server outside its middleware chain (except for OPTIONS), so CORS
// as middleware does not see them.
//
// The defaults allow every origin ("*") without credentials, the methods
// GET, HEAD, POST, PUT, PATCH and DELETE, and the request headers Accept,
// Accept-Language, Content-Language, Content-Type, Authorization and
// X-Requested-With; no header is exposed and no Access-Control-Max-Age is
// sent (browsers then cache a preflight for 5 seconds).
//
// Whatever the options, Vary: Origin is set on every reply, so that caches
// do not serve one origin's reply to another; an origin that is not allowed
// gets no CORS header at all, and the browser keeps the reply from the
// page; and a wildcard is never combined with credentials:
// WithAllowCredentials with an allowed origin "*" panics when CORS or
// Filter is called, since reflecting any origin with credentials would let
// every site act with the user's cookies. List the origins instead.
// A pattern such as "https://*.example.com" does allow credentials: the
// origin then is reflected, never "*".
package cors

import (
	"context"
	"fmt"
	nethttp "net/http"
	"strconv"
	"strings"

	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// varyPreflight is the Vary of a preflight's reply: its answer depends on
// all three request headers.
const varyPreflight = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"

// Option configures CORS and Filter.
type Option func(*options)

type options struct {
	origins     []string
	methods     []string
	headers     []string
	exposed     []string
	credentials bool
	maxAge      int
	allowOrigin func(origin string) bool
}

// WithAllowedOrigins sets the origins allowed to call: exact origins
// ("https://app.example.com", compared without regard to case), patterns
// with one "*" standing for one or more subdomain labels
// ("https://*.example.com", or "*.example.com" for any scheme), or "*" for
// every origin. The default is "*". An origin is scheme://host[:port],
// with the port only if it is not the scheme's default, as browsers send
// it. Each call replaces the list.
func WithAllowedOrigins(origins ...string) Option {
	return func(o *options) { o.origins = append([]string(nil), origins...) }
}

// WithAllowOriginFunc adds f to decide on the origins that
// WithAllowedOrigins does not allow, such as origins kept in a database.
// It is called once per cross-origin request and must be safe for
// concurrent use. Origins it allows are reflected, never answered with "*".
func WithAllowOriginFunc(f func(origin string) bool) Option {
	return func(o *options) { o.allowOrigin = f }
}

// WithAllowedMethods sets the methods a preflight may ask for; the
// default is GET, HEAD, POST, PUT, PATCH and DELETE. Methods are case-sensitive, as in
// HTTP; "*" allows every method (and is then answered with the method
// asked for, as browsers ignore "*" on credentialed requests).
func WithAllowedMethods(methods ...string) Option {
	return func(o *options) { o.methods = append([]string(nil), methods...) }
}

// WithAllowedHeaders sets the request headers a preflight may ask for,
// compared without regard to case. The default is Accept, Accept-Language,
// Content-Language, Content-Type, Authorization (as the tutorial's gateway
// puts JWT authentication after CORS) and X-Requested-With. "*" allows
// every header (answered with the headers asked for).
func WithAllowedHeaders(headers ...string) Option {
	return func(o *options) { o.headers = append([]string(nil), headers...) }
}

// WithExposedHeaders sets the reply headers, beyond the CORS-safelisted
// ones, that the page's script may read (Access-Control-Expose-Headers),
// such as "X-Request-Id" or "WWW-Authenticate". The default is none.
func WithExposedHeaders(headers ...string) Option {
	return func(o *options) { o.exposed = append([]string(nil), headers...) }
}

// WithAllowCredentials lets pages send cookies, TLS client certificates
// and HTTP authentication with their calls and read the replies
// (Access-Control-Allow-Credentials: true). The default is false. It
// cannot be combined with the allowed origin "*": CORS and Filter panic.
func WithAllowCredentials(allow bool) Option {
	return func(o *options) { o.credentials = allow }
}

// WithMaxAge sets how long, in whole seconds, a browser may cache a
// preflight's answer (Access-Control-Max-Age). Zero, the default, sends no
// header (browsers then cache it for 5 seconds); a negative value sends
// "0", which tells browsers not to cache it. Browsers cap it: Chromium at
// 2 hours, Firefox at 24.
func WithMaxAge(seconds int) Option {
	return func(o *options) { o.maxAge = seconds }
}

// CORS returns server middleware that applies the policy opts describe
// (see the package documentation). Requests of other transports than HTTP
// pass through unchanged. It panics, naming the problem, if the options
// are inconsistent (credentials with the origin "*", an origin pattern
// with more than one "*").
func CORS(opts ...Option) middleware.Middleware {
	p := newPolicy(opts)
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			tr, ok := transport.FromServerContext(ctx)
			if !ok || tr.Kind() != transport.KindHTTP {
				return next(ctx, req)
			}
			r, ok := tr.(requester)
			if !ok || r.Request() == nil {
				return next(ctx, req)
			}
			hr := r.Request()
			if isPreflight(hr) {
				p.preflight(tr.ReplyHeader(), hr)
				if w, ok := tr.(responder); ok {
					w.Response().WriteHeader(nethttp.StatusNoContent)
				}
				return nil, nil
			}
			p.actual(tr.ReplyHeader(), hr.Header.Get("Origin"))
			return next(ctx, req)
		}
	}
}

// Filter returns net/http middleware applying the same policy as CORS,
// for http.Filter (where it runs before routing, so it answers preflights
// for every path), a Router's filters, or any net/http handler. It panics
// as CORS does.
func Filter(opts ...Option) func(nethttp.Handler) nethttp.Handler {
	p := newPolicy(opts)
	return func(next nethttp.Handler) nethttp.Handler {
		return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
			if isPreflight(r) {
				p.preflight(w.Header(), r)
				w.WriteHeader(nethttp.StatusNoContent)
				return
			}
			p.actual(w.Header(), r.Header.Get("Origin"))
			next.ServeHTTP(w, r)
		})
	}
}

// The views of an HTTP server Transporter that CORS needs; middleware does
// not import transport/http, so it asks for them by method.
type (
	requester interface{ Request() *nethttp.Request }
	responder interface{ Response() nethttp.ResponseWriter }
)

// header is what CORS writes reply headers through: a nethttp.Header or a
// transport.Header.
type header interface {
	Get(key string) string
	Set(key, value string)
	Add(key, value string)
}

// isPreflight reports whether r is a CORS preflight rather than an OPTIONS
// request of the application's own.
func isPreflight(r *nethttp.Request) bool {
	return r.Method == nethttp.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// policy is the resolved options: everything is worked out once, when the
// middleware is built, and requests only compare strings.
type policy struct {
	allOrigins  bool
	origins     map[string]struct{} // exact, lower case
	patterns    []pattern
	allowOrigin func(string) bool
	allMethods  bool
	methods     map[string]struct{}
	methodsList string
	allHeaders  bool
	headers     map[string]struct{} // lower case
	credentials bool
	exposed     string // joined, "" for none
	maxAge      string // "" for no header
}

// pattern is an allowed origin with a "*": the origin must start with
// prefix and end with suffix, and what lies between must be subdomain
// labels (and the scheme, for a pattern without one).
type pattern struct {
	prefix, suffix string
	anyScheme      bool
}

func newPolicy(opts []Option) *policy {
	o := options{
		origins: []string{"*"},
		methods: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"},
		headers: []string{"Accept", "Accept-Language", "Content-Language", "Content-Type", "Authorization", "X-Requested-With"},
	}
	for _, opt := range opts {
		opt(&o)
	}
	p := &policy{
		origins:     make(map[string]struct{}),
		allowOrigin: o.allowOrigin,
		methods:     make(map[string]struct{}),
		headers:     make(map[string]struct{}),
		credentials: o.credentials,
		exposed:     strings.Join(o.exposed, ", "),
	}
	for _, s := range o.origins {
		s = strings.ToLower(strings.TrimSpace(s))
		switch n := strings.Count(s, "*"); {
		case s == "*":
			p.allOrigins = true
		case n == 0:
			p.origins[s] = struct{}{}
		case n == 1:
			i := strings.IndexByte(s, '*')
			p.patterns = append(p.patterns, pattern{prefix: s[:i], suffix: s[i+1:], anyScheme: !strings.Contains(s, "://")})
		default:
			panic(fmt.Sprintf("middleware/cors: allowed origin %q has more than one \"*\"", s))
		}
	}
	if p.allOrigins && p.credentials {
		panic(`middleware/cors: WithAllowCredentials(true) with the allowed origin "*" would let every site call with the user's credentials; list the origins instead`)
	}
	var listed []string
	for _, m := range o.methods {
		if m = strings.TrimSpace(m); m == "*" {
			p.allMethods = true
		} else if m != "" {
			p.methods[m] = struct{}{}
			listed = append(listed, m)
		}
	}
	p.methodsList = strings.Join(listed, ", ")
	for _, h := range o.headers {
		if h = strings.ToLower(strings.TrimSpace(h)); h == "*" {
			p.allHeaders = true
		} else if h != "" {
			p.headers[h] = struct{}{}
		}
	}
	switch {
	case o.maxAge > 0:
		p.maxAge = strconv.Itoa(o.maxAge)
	case o.maxAge < 0:
		p.maxAge = "0"
	}
	return p
}

// allowedOrigin returns the Access-Control-Allow-Origin value for origin,
// or "" if it is not allowed.
func (p *policy) allowedOrigin(origin string) string {
	if origin == "" {
		return ""
	}
	if p.allOrigins {
		// Credentials never come with "*" (newPolicy refuses it), so the
		// wildcard can be answered as is.
		return "*"
	}
	lower := strings.ToLower(origin)
	if _, ok := p.origins[lower]; ok {
		return origin
	}
	for _, pt := range p.patterns {
		if pt.match(lower) {
			return origin
		}
	}
	if p.allowOrigin != nil && p.allowOrigin(origin) {
		return origin
	}
	return ""
}

// match reports whether origin, in lower case, matches the pattern.
func (pt pattern) match(origin string) bool {
	if len(origin) <= len(pt.prefix)+len(pt.suffix) ||
		!strings.HasPrefix(origin, pt.prefix) || !strings.HasSuffix(origin, pt.suffix) {
		return false
	}
	mid := origin[len(pt.prefix) : len(origin)-len(pt.suffix)]
	if pt.anyScheme {
		scheme, host, ok := strings.Cut(mid, "://")
		if !ok || scheme == "" || strings.Trim(scheme, "abcdefghijklmnopqrstuvwxyz0123456789+-.") != "" {
			return false
		}
		mid = host
	}
	// Only host labels may stand for the "*": no "/", "@", ":" or other
	// character that would let "https://*.example.com" match another host
	// or port.
	if mid == "" || mid[0] == '.' || mid[len(mid)-1] == '.' {
		return false
	}
	return strings.Trim(mid, "abcdefghijklmnopqrstuvwxyz0123456789-.") == ""
}

// actual sets the headers of a reply to a (non-preflight) request from
// origin.
func (p *policy) actual(h header, origin string) {
	h.Add("Vary", "Origin")
	allow := p.allowedOrigin(origin)
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.exposed != "" {
		h.Set("Access-Control-Expose-Headers", p.exposed)
	}
}

// preflight sets the headers of the reply to the preflight r. A preflight
// for an origin, method or header that is not allowed gets no CORS header,
// which makes the browser refuse the call.
func (p *policy) preflight(h header, r *nethttp.Request) {
	h.Add("Vary", varyPreflight)
	allow := p.allowedOrigin(r.Header.Get("Origin"))
	if allow == "" {
		return
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if _, ok := p.methods[method]; !ok && !p.allMethods {
		return
	}
	asked := strings.Join(r.Header.Values("Access-Control-Request-Headers"), ",")
	if !p.allHeaders {
		for name := range strings.SplitSeq(asked, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name == "" {
				continue
			}
			if _, ok := p.headers[name]; !ok {
				return
			}
		}
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.allMethods {
		// "*" means any method only without credentials: answering the
		// method asked for works in both cases.
		h.Set("Access-Control-Allow-Methods", method)
	} else {
		h.Set("Access-Control-Allow-Methods", p.methodsList)
	}
	if asked = strings.TrimSpace(asked); asked != "" {
		// The headers asked for are all allowed (or "*" allows any):
		// echoing them answers exactly the question, as "*" would not on
		// credentialed requests.
		h.Set("Access-Control-Allow-Headers", asked)
	}
	if p.maxAge != "" {
		h.Set("Access-Control-Max-Age", p.maxAge)
	}
}
