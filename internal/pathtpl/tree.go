package pathtpl

import (
	"fmt"
	"slices"
	"strings"
)

// Endpoint is a route stored in a Tree: a method ("" for any method), a
// template and a value.
type Endpoint[T any] struct {
	Method   string
	Template *Template
	Value    T
}

// Tree is a segment trie of templates. A Tree is not safe for concurrent
// modification; Match may run concurrently with other Matches.
//
// Precedence: at each segment a literal beats "*", which beats "**"; the
// first alternative that leads to a route for the method wins, so a more
// specific template wins over a less specific one. A method-specific route
// wins over an any-method route, and HEAD falls back to GET.
type Tree[T any] struct {
	root     node[T]
	hasVerbs bool
	n        int
}

// litIndexMin is the number of literal children from which a node indexes
// them with a map rather than a linear scan.
const litIndexMin = 8

type node[T any] struct {
	lit    string
	lits   []*node[T]
	litIdx map[string]*node[T]
	wild   *node[T]
	dwild  *node[T]
	ends   []*Endpoint[T]
}

// Len returns the number of endpoints in t.
func (t *Tree[T]) Len() int { return t.n }

// Insert adds a route. It fails if a route with the same shape, method and
// verb exists.
func (t *Tree[T]) Insert(method string, tpl *Template, v T) error {
	n := &t.root
	for _, s := range tpl.Segments {
		switch s.Kind {
		case Literal:
			c := n.child(s.Literal)
			if c == nil {
				c = &node[T]{lit: s.Literal}
				n.lits = append(n.lits, c)
				if len(n.lits) >= litIndexMin {
					if n.litIdx == nil {
						n.litIdx = make(map[string]*node[T], len(n.lits))
						for _, l := range n.lits {
							n.litIdx[l.lit] = l
						}
					}
					n.litIdx[s.Literal] = c
				}
			}
			n = c
		case Wildcard:
			if n.wild == nil {
				n.wild = &node[T]{}
			}
			n = n.wild
		case DoubleWildcard:
			if n.dwild == nil {
				n.dwild = &node[T]{}
			}
			n = n.dwild
		}
	}
	for _, e := range n.ends {
		if e.Method == method && e.Template.Verb == tpl.Verb {
			return fmt.Errorf("route %s conflicts with %s", describe(method, tpl.Raw), describe(e.Method, e.Template.Raw))
		}
	}
	n.ends = append(n.ends, &Endpoint[T]{Method: method, Template: tpl, Value: v})
	if tpl.Verb != "" {
		t.hasVerbs = true
	}
	t.n++
	return nil
}

func describe(method, tpl string) string {
	if method == "" {
		return "ANY " + tpl
	}
	return method + " " + tpl
}

// Clone returns a deep copy of t's structure; endpoints are shared.
func (t *Tree[T]) Clone() *Tree[T] {
	c := &Tree[T]{hasVerbs: t.hasVerbs, n: t.n}
	c.root = *t.root.clone()
	return c
}

func (n *node[T]) clone() *node[T] {
	if n == nil {
		return nil
	}
	c := &node[T]{lit: n.lit, ends: slices.Clone(n.ends), wild: n.wild.clone(), dwild: n.dwild.clone()}
	if n.lits != nil {
		c.lits = make([]*node[T], len(n.lits))
		for i, l := range n.lits {
			c.lits[i] = l.clone()
		}
		if n.litIdx != nil {
			c.litIdx = make(map[string]*node[T], len(c.lits))
			for _, l := range c.lits {
				c.litIdx[l.lit] = l
			}
		}
	}
	return c
}

func (n *node[T]) child(seg string) *node[T] {
	if n.litIdx != nil {
		return n.litIdx[seg]
	}
	for _, c := range n.lits {
		if c.lit == seg {
			return c
		}
	}
	return nil
}

// childEscaped is child for a raw path segment, decoding escapes when there
// are any.
func (n *node[T]) childEscaped(seg string) *node[T] {
	if len(n.lits) == 0 {
		return nil
	}
	if c := n.child(seg); c != nil {
		return c
	}
	if strings.IndexByte(seg, '%') >= 0 {
		if u, ok := unescape(seg, false); ok {
			return n.child(u)
		}
	}
	return nil
}

// Match finds the route of method for path, an escaped URL path starting
// with "/". It returns the endpoint and the path its variables are to be
// read from (path without the verb), or nil.
func (t *Tree[T]) Match(method, path string) (*Endpoint[T], string) {
	if path == "" || path[0] != '/' {
		return nil, ""
	}
	if t.hasVerbs {
		if i := verbIndex(path); i >= 0 {
			if e := t.root.find(path[:i], 1, method, verbOf(path[i+1:])); e != nil {
				return e, path[:i]
			}
		}
	}
	return t.root.find(path, 1, method, ""), path
}

// verbIndex returns the index of the ":" before the custom verb of path, or
// -1 if it has none. A verb follows the last "/" and is not empty (a
// template's never is), so "/a:" has none and its last segment is "a:".
func verbIndex(path string) int {
	i := strings.LastIndexByte(path, ':')
	if i <= strings.LastIndexByte(path, '/') || i == len(path)-1 {
		return -1
	}
	return i
}

// verbOf decodes the verb of a request path.
func verbOf(raw string) string {
	v, ok := Unescape(raw, false)
	if !ok {
		return raw
	}
	return v
}

// find matches the segments of path from pos (the start of a segment, or
// len(path)+1 when none is left).
func (n *node[T]) find(path string, pos int, method, verb string) *Endpoint[T] {
	if pos > len(path) {
		if e := n.endpoint(method, verb); e != nil {
			return e
		}
		if n.dwild != nil {
			return n.dwild.endpoint(method, verb)
		}
		return nil
	}
	end := strings.IndexByte(path[pos:], '/')
	if end < 0 {
		end = len(path)
	} else {
		end += pos
	}
	seg := path[pos:end]
	if c := n.childEscaped(seg); c != nil {
		if e := c.find(path, end+1, method, verb); e != nil {
			return e
		}
	}
	if n.wild != nil && seg != "" {
		if e := n.wild.find(path, end+1, method, verb); e != nil {
			return e
		}
	}
	if n.dwild != nil {
		return n.dwild.endpoint(method, verb)
	}
	return nil
}

func (n *node[T]) endpoint(method, verb string) *Endpoint[T] {
	var get, anyMethod *Endpoint[T]
	for _, e := range n.ends {
		if e.Template.Verb != verb {
			continue
		}
		switch e.Method {
		case method:
			return e
		case "":
			anyMethod = e
		case "GET":
			if method == "HEAD" {
				get = e
			}
		}
	}
	if get != nil {
		return get
	}
	return anyMethod
}

// Allowed appends to dst the methods of the routes whose template matches
// path, sorted, with HEAD added when GET is there. It appends "" when a
// route accepts any method.
func (t *Tree[T]) Allowed(path string, dst []string) []string {
	if path == "" || path[0] != '/' {
		return dst
	}
	start := len(dst)
	if t.hasVerbs {
		if i := verbIndex(path); i >= 0 {
			dst = t.root.allowed(path[:i], 1, verbOf(path[i+1:]), dst)
		}
	}
	dst = t.root.allowed(path, 1, "", dst)
	ms := dst[start:]
	if slices.Contains(ms, "GET") && !slices.Contains(ms, "HEAD") {
		dst = append(dst, "HEAD")
		ms = dst[start:]
	}
	slices.Sort(ms)
	return append(dst[:start], slices.Compact(ms)...)
}

func (n *node[T]) allowed(path string, pos int, verb string, dst []string) []string {
	if pos > len(path) {
		dst = n.methods(verb, dst)
		if n.dwild != nil {
			dst = n.dwild.methods(verb, dst)
		}
		return dst
	}
	end := strings.IndexByte(path[pos:], '/')
	if end < 0 {
		end = len(path)
	} else {
		end += pos
	}
	seg := path[pos:end]
	if c := n.childEscaped(seg); c != nil {
		dst = c.allowed(path, end+1, verb, dst)
	}
	if n.wild != nil && seg != "" {
		dst = n.wild.allowed(path, end+1, verb, dst)
	}
	if n.dwild != nil {
		dst = n.dwild.methods(verb, dst)
	}
	return dst
}

func (n *node[T]) methods(verb string, dst []string) []string {
	for _, e := range n.ends {
		if e.Template.Verb == verb {
			dst = append(dst, e.Method)
		}
	}
	return dst
}

// AppendValues appends to dst the raw (still escaped) values of t's
// variables in path, a path t matched (without its verb).
func (t *Template) AppendValues(dst []string, path string) []string {
	k, pos := 0, 1 // segment k starts at pos
	advance := func() {
		if pos > len(path) {
			return
		}
		if j := strings.IndexByte(path[pos:], '/'); j >= 0 {
			pos += j + 1
		} else {
			pos = len(path) + 1
		}
		k++
	}
	for _, v := range t.Variables {
		for k < v.Start && pos <= len(path) {
			advance()
		}
		if pos > len(path) {
			dst = append(dst, "")
			continue
		}
		start := pos
		if v.End < 0 {
			dst = append(dst, path[start:])
			continue
		}
		for k < v.End && pos <= len(path) {
			advance()
		}
		dst = append(dst, path[start:pos-1])
	}
	return dst
}
