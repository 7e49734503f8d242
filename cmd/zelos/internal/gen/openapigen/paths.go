package openapigen

import (
	"strconv"
	"strings"

	"github.com/zelos-go/zelos/cmd/zelos/internal/httprule"
)

// An OpenAPI path parameter matches exactly one segment, so a variable with
// a pattern, such as {name=shelves/*/books/*}, cannot be one parameter: it is
// written out as /shelves/{…}/books/{…}, one parameter per wildcard. Only
// then does the document match the requests the server accepts.

// hole is one parameter of an OpenAPI path: a whole path variable, or one
// wildcard segment of a variable's pattern.
type hole struct {
	v     httprule.Var
	index int  // which wildcard of v's pattern, from 0
	count int  // how many wildcards v's pattern has
	multi bool // the wildcard is **, which spans segments
}

// whole reports whether h is the whole variable {v} (pattern "*").
func (h hole) whole() bool { return h.v.Pattern == "*" }

// name returns the parameter name h takes when its own binding names the
// path: the field path, with the dots that Spectral and most tools do not
// accept in a template replaced by "_", and the wildcard's number when the
// pattern has several.
func (h hole) name() string {
	n := strings.ReplaceAll(h.v.Path, ".", "_")
	if h.count > 1 {
		n += "_" + strconv.Itoa(h.index+1)
	}
	return n
}

// plain reports whether h's parameter can carry the field's own name.
func (h hole) plain() bool { return h.whole() && !strings.Contains(h.v.Path, ".") }

// route is a binding's template in OpenAPI form: literal text between the
// holes, len(parts) == len(holes)+1.
type route struct {
	bd    httprule.Binding
	parts []string
	holes []hole
	names []string // the parameter names of the path r is documented under
}

func newRoute(bd httprule.Binding) route {
	r := route{bd: bd}
	var lit strings.Builder
	s := bd.Path
	vi := 0
	for len(s) > 0 {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}') + i
		_, pattern, ok := strings.Cut(s[i+1:end], "=")
		if !ok {
			pattern = "*"
		}
		v := bd.Vars[vi]
		vi++
		segs := strings.Split(pattern, "/")
		count := 0
		for _, seg := range segs {
			if seg == "*" || seg == "**" {
				count++
			}
		}
		n := 0
		for j, seg := range segs {
			if j > 0 {
				lit.WriteByte('/')
			}
			if seg != "*" && seg != "**" {
				lit.WriteString(seg)
				continue
			}
			r.parts = append(r.parts, lit.String())
			lit.Reset()
			r.holes = append(r.holes, hole{v: v, index: n, count: count, multi: seg == "**"})
			n++
		}
		s = s[end+1:]
	}
	r.parts = append(r.parts, lit.String())
	return r
}

// shape is the path with its parameters unnamed: two routes of one shape
// match the same requests, and OpenAPI (and Spectral's path-params rule)
// allow only one path for them.
func (r route) shape() string { return strings.Join(r.parts, "{}") }

// path returns the OpenAPI path with the given parameter names.
func (r route) path(names []string) string {
	var sb strings.Builder
	for i, p := range r.parts {
		sb.WriteString(p)
		if i < len(names) {
			sb.WriteString("{" + names[i] + "}")
		}
	}
	return sb.String()
}

// ownNames returns the parameter names r takes when it names the path,
// made unique.
func (r route) ownNames() []string {
	names := make([]string, len(r.holes))
	seen := map[string]bool{}
	for i, h := range r.holes {
		n := h.name()
		for k := 2; seen[n]; k++ {
			n = h.name() + "_" + strconv.Itoa(k)
		}
		seen[n] = true
		names[i] = n
	}
	return names
}

// plain reports whether every parameter of r carries its field's name.
func (r route) plain() bool {
	for _, h := range r.holes {
		if !h.plain() {
			return false
		}
	}
	return true
}

// pathNames returns, for each shape, the parameter names its path uses:
// those of the first route of that shape whose parameters all carry their
// fields' names, so that /v1/shops/{id} keeps {id} even when a
// PATCH /v1/shops/{shop.id} came first; failing that, those of the first
// route. The other routes of the shape describe which field each
// parameter fills.
func pathNames(routes []route) map[string][]string {
	out := map[string][]string{}
	plain := map[string]bool{}
	for _, r := range routes {
		s := r.shape()
		if _, ok := out[s]; ok && (plain[s] || !r.plain()) {
			continue
		}
		out[s] = r.ownNames()
		plain[s] = r.plain()
	}
	return out
}

// holeDescription says which field a parameter fills when its name or
// value is not simply the field's.
func (r route) holeDescription(i int) string {
	h := r.holes[i]
	if h.whole() {
		if r.names[i] == h.v.Path {
			return ""
		}
		return "The field " + h.v.Path + "."
	}
	// The field's value is its pattern with the wildcards filled in, such
	// as shelves/{shelf}/books/{book}.
	var sb strings.Builder
	n := 0
	names := r.namesOf(h.v.Path)
	for j, seg := range strings.Split(h.v.Pattern, "/") {
		if j > 0 {
			sb.WriteByte('/')
		}
		if seg == "*" || seg == "**" {
			sb.WriteString("{" + names[n] + "}")
			n++
			continue
		}
		sb.WriteString(seg)
	}
	d := "Part of the field " + h.v.Path + ", which is " + sb.String() + "."
	if h.multi {
		// An OpenAPI path parameter is one segment; the document can only
		// say in words that this one is not.
		d += " {" + r.names[i] + "} may span segments."
	}
	return d
}

// namesOf returns the parameter names of the holes of variable p.
func (r route) namesOf(p string) []string {
	var out []string
	for i, h := range r.holes {
		if h.v.Path == p {
			out = append(out, r.names[i])
		}
	}
	return out
}
