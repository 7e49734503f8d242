package pathtpl

import (
	"slices"
	"strings"
	"testing"
)

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{
		"/", "/v1/users/{id}", "/v1/{name=shelves/*/books/*}", "/{path=**}", "/v1/{a.b}:verb",
		"/a/", "/a%20b/*", "/{x=a/**}:v", "/{", "//", "/a:b:c", "/{a=*}/{b=**}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := Parse(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid path template") {
				t.Fatalf("Parse(%q): error %q does not name the template", s, err)
			}
			return
		}
		canon := tp.String()
		tp2, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) ok but its String %q does not parse: %v", s, canon, err)
		}
		if tp2.String() != canon || tp2.Verb != tp.Verb || !slices.Equal(tp2.Segments, tp.Segments) ||
			!slices.Equal(tp2.Variables, tp.Variables) {
			t.Fatalf("Parse(%q) and Parse(%q) differ: %+v vs %+v", s, canon, tp, tp2)
		}
		for i, seg := range tp.Segments {
			if seg.Kind == DoubleWildcard && i != len(tp.Segments)-1 {
				t.Fatalf("Parse(%q): ** not last", s)
			}
		}
		for _, v := range tp.Variables {
			if v.Start < 0 || v.Start >= len(tp.Segments) || (v.End >= 0 && (v.End <= v.Start || v.End > len(tp.Segments))) {
				t.Fatalf("Parse(%q): variable %+v out of range", s, v)
			}
		}
		// The template matches a path built from it.
		var tr Tree[int]
		if err := tr.Insert("GET", tp, 1); err != nil {
			t.Fatal(err)
		}
		p := samplePath(tp)
		if e, _ := tr.Match("GET", p); e == nil {
			t.Fatalf("template %q does not match its sample path %q", s, p)
		}
	})
}

// samplePath builds a path the template matches.
func samplePath(tp *Template) string {
	var b strings.Builder
	for _, s := range tp.Segments {
		b.WriteByte('/')
		switch s.Kind {
		case Literal:
			b.WriteString(escapeLiteral(s.Literal))
		case Wildcard:
			b.WriteString("w")
		case DoubleWildcard:
			b.WriteString("d/e")
		}
	}
	if tp.Verb != "" {
		b.WriteByte(':')
		b.WriteString(escapeLiteral(tp.Verb))
	}
	return b.String()
}

var fuzzRoutes = []testRoute{
	{"GET", "/"},
	{"GET", "/v1/users"},
	{"GET", "/v1/users/{id}"},
	{"POST", "/v1/users/{id}:cancel"},
	{"GET", "/v1/users/{id}/posts/{post}"},
	{"GET", "/v1/{name=shelves/*/books/*}"},
	{"GET", "/v1/shelves/{shelf}/books/special"},
	{"GET", "/static/{path=**}"},
	{"", "/any/{x}"},
	{"GET", "/a/{x}/c"},
	{"POST", "/a/b/c"},
	{"GET", "/files/{name=docs/**}:download"},
	{"GET", "/{a}/{b}/{c}/{d}"},
	{"GET", "/x/*/y/**"},
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/", "/v1/users/1", "/v1/users/1:cancel", "/v1/shelves/1/books/2", "/static/a/b",
		"/a/b/c", "/files/docs/x:download", "/q/w/e/r", "/x/1/y", "/v1/users/%2F", "//", "/:", "/a%"} {
		f.Add("GET", s)
		f.Add("POST", s)
	}
	tr := buildTree(f, fuzzRoutes)
	f.Fuzz(func(t *testing.T, method, path string) {
		e, p := tr.Match(method, path)
		allowed := tr.Allowed(path, nil)
		if e == nil {
			// No route for the method: no route may match path and method.
			for _, r := range fuzzRoutes {
				if naiveMatch(MustParse(r.tpl), path) && methodOK(r.method, method) {
					t.Fatalf("Match(%s %q) = nil but %s %s matches", method, path, r.method, r.tpl)
				}
			}
			if slices.Contains(allowed, method) || slices.Contains(allowed, "") {
				t.Fatalf("Match(%s %q) = nil but Allowed = %q", method, path, allowed)
			}
			return
		}
		if !methodOK(e.Method, method) {
			t.Fatalf("Match(%s %q) returned a %s route", method, path, e.Method)
		}
		if !naiveMatch(e.Template, path) {
			t.Fatalf("Match(%s %q) = %s, which does not match naively", method, path, e.Template.Raw)
		}
		vals := e.Template.AppendValues(nil, p)
		if len(vals) != len(e.Template.Variables) {
			t.Fatalf("Match(%s %q): %d values for %d variables", method, path, len(vals), len(e.Template.Variables))
		}
		for i, v := range vals {
			if !strings.Contains(p, v) {
				t.Fatalf("value %d %q not in path %q", i, v, p)
			}
			if !e.Template.Variables[i].MultiSegment() && strings.Contains(v, "/") {
				t.Fatalf("single-segment value %q contains /", v)
			}
		}
	})
}

func methodOK(routeMethod, method string) bool {
	return routeMethod == "" || routeMethod == method || (method == "HEAD" && routeMethod == "GET")
}

// naiveMatch is an independent, slow matcher: split the path, try the verb
// split, and compare segment by segment.
func naiveMatch(tp *Template, path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	try := func(p, verb string) bool {
		if verb != tp.Verb {
			return false
		}
		segs := strings.Split(p[1:], "/")
		for i, s := range tp.Segments {
			switch s.Kind {
			case DoubleWildcard:
				return true
			case Wildcard:
				if i >= len(segs) || segs[i] == "" {
					return false
				}
			case Literal:
				if i >= len(segs) {
					return false
				}
				u, ok := unescape(segs[i], false)
				if segs[i] != s.Literal && (!ok || u != s.Literal) {
					return false
				}
			}
		}
		return len(segs) == len(tp.Segments)
	}
	if i := strings.LastIndexByte(path, ':'); i > strings.LastIndexByte(path, '/') && i < len(path)-1 {
		if try(path[:i], verbOf(path[i+1:])) {
			return true
		}
	}
	return try(path, "")
}
