package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zelos-go/zelos/internal/pathtpl"
	"github.com/zelos-go/zelos/middleware"
)

// table is one compiled configuration: the routes and the endpoints they
// lead to. It is never modified once published.
type table struct {
	exact    map[string]*pathtpl.Tree[*endpoint] // by host
	wildcard []hostTree                          // *.domain, longest first
	any      *pathtpl.Tree[*endpoint]
	pools    []*pool
	inflight atomic.Int64
}

type hostTree struct {
	suffix string // ".example.com"
	tree   *pathtpl.Tree[*endpoint]
}

// endpoint is a compiled Endpoint.
type endpoint struct {
	name     string
	route    string // the template or prefix, as metrics and traces show it
	protocol string
	service  string // what errors name: the backends' services
	timeout  time.Duration
	// timeoutValue is timeout as an X-Zelos-Timeout value.
	timeoutValue string
	maxBody      int64
	pool         *pool
	rewrite      Rewrite
	reqSet       [][2]string
	reqDel       []string
	respSet      [][2]string
	respDel      []string
	cors         bool
	subject      string // JWT subject header for the backend
	accessLog    bool

	safe   middleware.Handler // the chain for requests that may be retried
	unsafe middleware.Handler // the chain for the others
	proxy  http.Handler
	tc     *transcoder
}

// compile builds a table from cfg, acquiring its pools. On error every
// pool acquired is released.
func (g *Gateway) compile(cfg *Config) (_ *table, err error) {
	t := &table{exact: map[string]*pathtpl.Tree[*endpoint]{}, any: &pathtpl.Tree[*endpoint]{}}
	defer func() {
		if err != nil {
			g.pools.release(t.pools)
		}
	}()
	owner := map[string]string{} // route key -> endpoint name, for conflicts
	for i := range cfg.Endpoints {
		e := cfg.Endpoints[i]
		ep, err := g.compileEndpoint(cfg, e)
		if err != nil {
			return nil, fmt.Errorf("gateway: endpoints[%d] (%s): %w", i, ep.name, err)
		}
		t.pools = append(t.pools, ep.pool)
		tree := t.treeFor(e.Host)
		var tpls []string
		if e.Path != "" {
			tpls = []string{e.Path}
		} else {
			// The prefix itself, and everything under it.
			p := strings.TrimRight(e.Prefix, "/")
			if p == "" {
				p = "/"
			}
			tpls = []string{p, prefixTemplate(e.Prefix)}
		}
		methods := e.Methods
		if len(methods) == 0 {
			methods = []string{""}
		}
		for _, m := range methods {
			for _, s := range tpls {
				tpl, err := pathtpl.Parse(s)
				if err != nil {
					return nil, fmt.Errorf("gateway: endpoints[%d] (%s): %w", i, ep.name, err)
				}
				if err := tree.Insert(m, tpl, ep); err != nil {
					key := e.Host + " " + m + " " + s
					other := owner[key]
					if other == "" {
						other = "another endpoint"
					}
					return nil, fmt.Errorf("gateway: endpoints[%d] (%s) has the route of %s: %s %s", i, ep.name, other, strings.TrimSpace(m+" "+s), e.Host)
				}
				owner[e.Host+" "+m+" "+s] = ep.name
			}
		}
	}
	return t, nil
}

func (t *table) treeFor(host string) *pathtpl.Tree[*endpoint] {
	host = strings.ToLower(host)
	switch {
	case host == "":
		return t.any
	case strings.HasPrefix(host, "*."):
		suffix := host[1:]
		for _, h := range t.wildcard {
			if h.suffix == suffix {
				return h.tree
			}
		}
		h := hostTree{suffix: suffix, tree: &pathtpl.Tree[*endpoint]{}}
		t.wildcard = append(t.wildcard, h)
		// Longest suffix first, so the most specific domain wins.
		for i := len(t.wildcard) - 1; i > 0 && len(t.wildcard[i].suffix) > len(t.wildcard[i-1].suffix); i-- {
			t.wildcard[i], t.wildcard[i-1] = t.wildcard[i-1], t.wildcard[i]
		}
		return h.tree
	}
	tr := t.exact[host]
	if tr == nil {
		tr = &pathtpl.Tree[*endpoint]{}
		t.exact[host] = tr
	}
	return tr
}

// match finds the endpoint of r: the host's routes first, then those of
// every host. It returns the methods allowed on the path when no route
// matches the method.
func (t *table) match(r *http.Request, method string) (*endpoint, []string) {
	path := r.URL.EscapedPath()
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	var allowed []string
	try := func(tr *pathtpl.Tree[*endpoint]) *endpoint {
		if tr == nil {
			return nil
		}
		if e, _ := tr.Match(method, path); e != nil {
			return e.Value
		}
		allowed = tr.Allowed(path, allowed)
		return nil
	}
	if len(t.exact) > 0 {
		if ep := try(t.exact[host]); ep != nil {
			return ep, nil
		}
	}
	for _, h := range t.wildcard {
		if strings.HasSuffix(host, h.suffix) {
			if ep := try(h.tree); ep != nil {
				return ep, nil
			}
		}
	}
	if ep := try(t.any); ep != nil {
		return ep, nil
	}
	return nil, allowed
}
