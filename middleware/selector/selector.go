// Package selector applies middleware to some operations only.
//
//	selector.Server(auth.Server(...)).
//		Prefix("/admin.v1.").
//		Path("/user.v1.User/Delete").
//		Regex(`^/report\.v1\..*/Export`).
//		Match(func(ctx context.Context, op string) bool { return ... }).
//		Build()
//
// An operation is the Transporter's (transport.FromServerContext for
// Server, FromClientContext for Client): the full gRPC method name, or, for
// plain HTTP routes, the route's path template. The middleware applies when
// any rule matches: an exact path, a prefix, a regular expression or the
// Match function. Requests with no Transporter are passed through.
//
// Everything is prepared once: the wrapped chain is built when the
// middleware is applied, regular expressions are compiled by Build, and
// their outcome is cached per operation.
package selector

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/transport"
)

// MatchFunc reports whether the middleware applies to an operation.
type MatchFunc func(ctx context.Context, operation string) bool

// Builder collects the rules of a selector.
type Builder struct {
	client  bool
	ms      []middleware.Middleware
	prefix  []string
	regex   []string
	path    []string
	matches []MatchFunc
}

// Server returns a Builder of middleware applying ms to matching server
// operations.
func Server(ms ...middleware.Middleware) *Builder { return &Builder{ms: ms} }

// Client returns a Builder of middleware applying ms to matching client
// operations.
func Client(ms ...middleware.Middleware) *Builder { return &Builder{client: true, ms: ms} }

// Prefix adds operation prefixes to match.
func (b *Builder) Prefix(prefix ...string) *Builder {
	b.prefix = append(b.prefix, prefix...)
	return b
}

// Regex adds regular expressions (RE2 syntax) operations are matched
// against. Build panics if one does not compile.
func (b *Builder) Regex(regex ...string) *Builder {
	b.regex = append(b.regex, regex...)
	return b
}

// Path adds operations to match exactly.
func (b *Builder) Path(path ...string) *Builder {
	b.path = append(b.path, path...)
	return b
}

// Match adds a function deciding per request.
func (b *Builder) Match(fn MatchFunc) *Builder {
	b.matches = append(b.matches, fn)
	return b
}

// maxCached bounds the per-operation cache of static rule outcomes.
// Operations are method names or route templates, so it is rarely reached.
const maxCached = 4096

// Build returns the middleware. It panics if a regular expression does not
// compile, like regexp.MustCompile, since rules are fixed at start-up.
func (b *Builder) Build() middleware.Middleware {
	s := &selector{
		paths:   make(map[string]struct{}, len(b.path)),
		prefix:  append([]string(nil), b.prefix...),
		matches: append([]MatchFunc(nil), b.matches...),
		from:    transport.FromServerContext,
		cache:   make(map[string]bool),
	}
	if b.client {
		s.from = transport.FromClientContext
	}
	for _, p := range b.path {
		s.paths[p] = struct{}{}
	}
	for _, r := range b.regex {
		re, err := regexp.Compile(r)
		if err != nil {
			panic(fmt.Sprintf("middleware/selector: regex %q: %v", r, err))
		}
		s.regex = append(s.regex, re)
	}
	chain := middleware.Chain(b.ms...)
	return func(next middleware.Handler) middleware.Handler {
		matched := chain(next)
		return func(ctx context.Context, req any) (any, error) {
			if tr, ok := s.from(ctx); ok && s.match(ctx, tr.Operation()) {
				return matched(ctx, req)
			}
			return next(ctx, req)
		}
	}
}

type selector struct {
	paths   map[string]struct{}
	prefix  []string
	regex   []*regexp.Regexp
	matches []MatchFunc
	from    func(context.Context) (transport.Transporter, bool)

	mu    sync.RWMutex
	cache map[string]bool // operation -> outcome of the regex rules
}

func (s *selector) match(ctx context.Context, op string) bool {
	if _, ok := s.paths[op]; ok {
		return true
	}
	for _, p := range s.prefix {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	if len(s.regex) > 0 && s.matchRegex(op) {
		return true
	}
	for _, m := range s.matches {
		if m(ctx, op) {
			return true
		}
	}
	return false
}

func (s *selector) matchRegex(op string) bool {
	s.mu.RLock()
	v, ok := s.cache[op]
	s.mu.RUnlock()
	if ok {
		return v
	}
	for _, re := range s.regex {
		if v = re.MatchString(op); v {
			break
		}
	}
	s.mu.Lock()
	if len(s.cache) < maxCached {
		s.cache[op] = v
	}
	s.mu.Unlock()
	return v
}
