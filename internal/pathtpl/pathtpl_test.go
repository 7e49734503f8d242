package pathtpl

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		tpl   string
		canon string
		vars  []Variable
		verb  string
	}{
		{"/", "/", nil, ""},
		{"/v1/users", "/v1/users", nil, ""},
		{"/v1/users/", "/v1/users/", nil, ""},
		{"/v1/users/{id}", "/v1/users/{id}", []Variable{{"id", 2, 3}}, ""},
		{"/v1/users/{id=*}", "/v1/users/{id}", []Variable{{"id", 2, 3}}, ""},
		{"/v1/{name=shelves/*/books/*}", "/v1/{name=shelves/*/books/*}", []Variable{{"name", 1, 5}}, ""},
		{"/{path=**}", "/{path=**}", []Variable{{"path", 0, -1}}, ""},
		{"/v1/{book.shelf}/{book.id}", "/v1/{book.shelf}/{book.id}", []Variable{{"book.shelf", 1, 2}, {"book.id", 2, 3}}, ""},
		{"/v1/users/{id}:cancel", "/v1/users/{id}:cancel", []Variable{{"id", 2, 3}}, "cancel"},
		{"/v1/*/x/**", "/v1/*/x/**", nil, ""},
		{"/v1/{name=files/**}:get", "/v1/{name=files/**}:get", []Variable{{"name", 1, -1}}, "get"},
		{"/a%20b", "/a%20b", nil, ""},
		{"/x/{a}/y/{b=**}", "/x/{a}/y/{b=**}", []Variable{{"a", 1, 2}, {"b", 3, -1}}, ""},
		{"/x/{a=lit}", "/x/{a=lit}", []Variable{{"a", 1, 2}}, ""}, // found by FuzzParseTemplate
		// From the CLI's former parser (cmd/zelos/internal/httprule).
		{"/v1/{parent=projects/*}/things:search", "/v1/{parent=projects/*}/things:search", []Variable{{"parent", 1, 3}}, "search"},
		{"/v1/shelves/{shelf}/books/{book.id}", "/v1/shelves/{shelf}/books/{book.id}", []Variable{{"shelf", 2, 3}, {"book.id", 4, 5}}, ""},
		{"/v1/x=y", "/v1/x=y", nil, ""}, // "=" is a sub-delim, allowed in a literal
	}
	for _, tt := range tests {
		tp, err := Parse(tt.tpl)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.tpl, err)
		}
		if got := tp.String(); got != tt.canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.tpl, got, tt.canon)
		}
		if !slices.Equal(tp.Variables, tt.vars) {
			t.Errorf("Parse(%q).Variables = %v, want %v", tt.tpl, tp.Variables, tt.vars)
		}
		if tp.Verb != tt.verb {
			t.Errorf("Parse(%q).Verb = %q, want %q", tt.tpl, tp.Verb, tt.verb)
		}
	}
}

func TestParseErrors(t *testing.T) {
	bad := map[string]string{
		"":                 "must start with",
		"v1/users":         "must start with",
		"//":               "empty segment",
		"/a//b":            "empty segment",
		"/{":               "field path",
		"/{id":             "unclosed",
		"/{id=a/b":         "unclosed",
		"/{id}{x}":         "whole segment",
		"/a{id}":           "unexpected",
		"/{1id}":           "field path",
		"/{a.}":            "field path",
		"/{id}/{id}":       "duplicate variable",
		"/{a={b}}":         "nested",
		"/**/a":            "last segment",
		"/{p=**}/a":        "last segment",
		"/a*":              "unexpected",
		"/*a":              "whole segment",
		"/a:":              "empty verb",
		"/a:b/c":           "in verb",
		"/:x":              "verb without a path",
		"/a?b":             "unexpected",
		"/a%zz":            "percent-escape",
		"/{name=}":         "unexpected '}'",
		"/{name=a/}":       "unexpected '}'",
		"/a b":             "unexpected",
		"/{x=a:b}":         "unclosed",
		"/v1/users/{id}:{": "empty verb",
		// From the CLI's former parser (cmd/zelos/internal/httprule).
		"/v1/{a}b":      "whole segment",
		"/v1/{}":        "field path",
		"/v1/{a=b/{c}}": "nested",
	}
	for tpl, want := range bad {
		_, err := Parse(tpl)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tpl, want)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "invalid path template") {
			t.Errorf("Parse(%q) = %v, want error containing %q", tpl, err, want)
		}
	}
}

type testRoute struct{ method, tpl string }

func buildTree(t testing.TB, routes []testRoute) *Tree[string] {
	t.Helper()
	var tr Tree[string]
	for _, r := range routes {
		if err := tr.Insert(r.method, MustParse(r.tpl), r.method+" "+r.tpl); err != nil {
			t.Fatal(err)
		}
	}
	return &tr
}

var testRoutes = []testRoute{
	{"GET", "/"},
	{"GET", "/v1/users"},
	{"GET", "/v1/users/"},
	{"GET", "/v1/users/me"},
	{"GET", "/v1/users/{id}"},
	{"DELETE", "/v1/users/{id}"},
	{"POST", "/v1/users/{id}:cancel"},
	{"GET", "/v1/users/{id}/posts/{post}"},
	{"GET", "/v1/{name=shelves/*/books/*}"},
	{"GET", "/v1/shelves/{shelf}/books/special"},
	{"GET", "/static/{path=**}"},
	{"", "/any/{x}"},
	{"PUT", "/any/{x}"},
	{"GET", "/a/{x}/c"},
	{"POST", "/a/b/c"},
	{"GET", "/files/{name=docs/**}:download"},
}

func TestMatch(t *testing.T) {
	tr := buildTree(t, testRoutes)
	tests := []struct {
		method, path string
		want         string
		vars         []string
	}{
		{"GET", "/", "GET /", nil},
		{"GET", "/v1/users", "GET /v1/users", nil},
		{"GET", "/v1/users/", "GET /v1/users/", nil},
		{"GET", "/v1/users/me", "GET /v1/users/me", nil},
		{"GET", "/v1/users/42", "GET /v1/users/{id}", []string{"42"}},
		{"HEAD", "/v1/users/42", "GET /v1/users/{id}", []string{"42"}},
		{"DELETE", "/v1/users/42", "DELETE /v1/users/{id}", []string{"42"}},
		{"POST", "/v1/users/42:cancel", "POST /v1/users/{id}:cancel", []string{"42"}},
		{"GET", "/v1/users/42:cancel", "GET /v1/users/{id}", []string{"42:cancel"}},
		{"GET", "/v1/users/42:nope", "GET /v1/users/{id}", []string{"42:nope"}},
		{"GET", "/v1/users/42:", "GET /v1/users/{id}", []string{"42:"}}, // an empty verb is no verb
		{"GET", "/v1/users/a%2Fb", "GET /v1/users/{id}", []string{"a%2Fb"}},
		{"GET", "/v1/users/42/posts/7", "GET /v1/users/{id}/posts/{post}", []string{"42", "7"}},
		{"GET", "/v1/shelves/1/books/2", "GET /v1/{name=shelves/*/books/*}", []string{"shelves/1/books/2"}},
		{"GET", "/v1/shelves/1/books/special", "GET /v1/shelves/{shelf}/books/special", []string{"1"}},
		{"GET", "/static", "GET /static/{path=**}", []string{""}},
		{"GET", "/static/", "GET /static/{path=**}", []string{""}},
		{"GET", "/static/css/a.css", "GET /static/{path=**}", []string{"css/a.css"}},
		{"PATCH", "/any/1", " /any/{x}", []string{"1"}},
		{"PUT", "/any/1", "PUT /any/{x}", []string{"1"}},
		{"GET", "/a/b/c", "GET /a/{x}/c", []string{"b"}},
		{"POST", "/a/b/c", "POST /a/b/c", nil},
		{"GET", "/files/docs/a/b.pdf:download", "GET /files/{name=docs/**}:download", []string{"docs/a/b.pdf"}},
		{"GET", "/v1/user%73/me", "GET /v1/users/me", nil},
	}
	for _, tt := range tests {
		e, p := tr.Match(tt.method, tt.path)
		if e == nil {
			t.Errorf("Match(%s %s) = nil, want %s", tt.method, tt.path, tt.want)
			continue
		}
		if e.Value != strings.TrimPrefix(tt.want, " ") && e.Value != tt.want {
			t.Errorf("Match(%s %s) = %q, want %q", tt.method, tt.path, e.Value, tt.want)
			continue
		}
		got := e.Template.AppendValues(nil, p)
		if !slices.Equal(got, tt.vars) && !(len(got) == 0 && len(tt.vars) == 0) {
			t.Errorf("Match(%s %s) vars = %q, want %q", tt.method, tt.path, got, tt.vars)
		}
	}
}

func TestNoMatchAndAllowed(t *testing.T) {
	tr := buildTree(t, testRoutes)
	tests := []struct {
		method, path string
		allowed      []string
	}{
		{"GET", "/nope", nil},
		{"GET", "/v1/users/42/posts", nil},
		{"GET", "/v1/users//posts/1", nil},
		{"GET", "/v1/shelves/1/books", nil},
		{"GET", "", nil},
		{"GET", "v1/users", nil},
		{"POST", "/v1/users/42", []string{"DELETE", "GET", "HEAD"}},
		{"DELETE", "/a/b/c", []string{"GET", "HEAD", "POST"}},
		{"GET", "/files/docs/a", nil},
		{"POST", "/files/docs/a:download", []string{"GET", "HEAD"}},
		{"GET", "/v1/users:", nil}, // not GET /v1/users with an empty verb
	}
	for _, tt := range tests {
		if e, _ := tr.Match(tt.method, tt.path); e != nil {
			t.Errorf("Match(%s %s) = %q, want nil", tt.method, tt.path, e.Value)
		}
		if got := tr.Allowed(tt.path, nil); !slices.Equal(got, tt.allowed) {
			t.Errorf("Allowed(%s) = %q, want %q", tt.path, got, tt.allowed)
		}
	}
}

func TestInsertConflict(t *testing.T) {
	var tr Tree[int]
	if err := tr.Insert("GET", MustParse("/a/{x}"), 1); err != nil {
		t.Fatal(err)
	}
	err := tr.Insert("GET", MustParse("/a/{y}"), 2)
	if err == nil || !strings.Contains(err.Error(), "GET /a/{y} conflicts with GET /a/{x}") {
		t.Fatalf("conflict error = %v", err)
	}
	if err := tr.Insert("POST", MustParse("/a/{y}"), 3); err != nil {
		t.Fatal(err)
	}
	if err := tr.Insert("GET", MustParse("/a/{y}:v"), 4); err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 3 {
		t.Fatalf("Len = %d", tr.Len())
	}
	// A variable with a pattern has the shape of its pattern, so the CLI
	// reports these two (from different RPCs) as colliding.
	if err := tr.Insert("GET", MustParse("/v1/{name=shelves/*/books/*}"), 5); err != nil {
		t.Fatal(err)
	}
	if err := tr.Insert("GET", MustParse("/v1/shelves/{s}/books/{b}"), 6); err == nil {
		t.Error("/v1/shelves/{s}/books/{b} does not conflict with /v1/{name=shelves/*/books/*}")
	}
}

func TestManyLiterals(t *testing.T) {
	var tr Tree[int]
	for i := range 40 {
		name := "/r" + strings.Repeat("x", i)
		if err := tr.Insert("GET", MustParse(name), i); err != nil {
			t.Fatal(err)
		}
	}
	c := tr.Clone()
	if err := c.Insert("GET", MustParse("/extra"), 99); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		e, _ := c.Match("GET", "/r"+strings.Repeat("x", i))
		if e == nil || e.Value != i {
			t.Fatalf("route %d not found", i)
		}
	}
	if e, _ := tr.Match("GET", "/extra"); e != nil {
		t.Fatal("Clone shares structure with the original")
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in        string
		keepSlash bool
		want      string
		ok        bool
	}{
		{"abc", false, "abc", true},
		{"a%20b", false, "a b", true},
		{"a%2Fb", false, "a/b", true},
		{"a%2Fb/c", true, "a%2Fb/c", true},
		{"a%2", false, "", false},
		{"a%zz", false, "", false},
	}
	for _, tt := range tests {
		got, ok := Unescape(tt.in, tt.keepSlash)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Unescape(%q, %v) = %q, %v", tt.in, tt.keepSlash, got, ok)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	tr := buildTree(t, testRoutes)
	var vals [4]string
	allocs := testing.AllocsPerRun(100, func() {
		e, p := tr.Match("GET", "/v1/users/42/posts/7")
		_ = e.Template.AppendValues(vals[:0], p)
		e, p = tr.Match("POST", "/v1/users/42:cancel")
		_ = e.Template.AppendValues(vals[:0], p)
	})
	if allocs != 0 {
		t.Fatalf("Match allocates %v times", allocs)
	}
}

func BenchmarkMatch(b *testing.B) {
	tr := buildTree(b, testRoutes)
	var vals [4]string
	b.ReportAllocs()
	for b.Loop() {
		e, p := tr.Match("GET", "/v1/users/42/posts/7")
		_ = e.Template.AppendValues(vals[:0], p)
	}
}
