package httprule

import (
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	good := map[string]string{
		"/v1/books":                             "",
		"/v1/{name=shelves/*/books/*}":          "name=shelves/*/books/*",
		"/v1/shelves/{shelf}/books/{book.id}":   "shelf=* book.id=*",
		"/v1/users/{id}:cancel":                 "id=*",
		"/files/{path=**}":                      "path=**",
		"/v1/{parent=projects/*}/things:search": "parent=projects/*",
	}
	for tpl, want := range good {
		vars, err := parseTemplate(tpl)
		if err != nil {
			t.Errorf("%s: %v", tpl, err)
			continue
		}
		var got []string
		for _, v := range vars {
			got = append(got, v.Path+"="+v.Pattern)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: vars %q, want %q", tpl, got, want)
		}
	}
	bad := map[string]string{
		"v1/books":      "does not start with /",
		"/v1/{name":     "unclosed {",
		"/v1/{}":        `bad variable name ""`,
		"/v1/{1x}":      `bad variable name "1x"`,
		"/v1/{a}/{a}":   "appears twice",
		"/v1/books/":    "trailing /",
		"/v1//books":    "empty segment",
		"/v1/books:":    "empty verb",
		"/v1/{a=}":      `bad pattern ""`,
		"/v1/{a}b":      `unexpected "b"`,
		"/v1/x=y":       `bad segment "x=y"`,
		"/v1/{a=b/{c}}": "bad pattern",
	}
	for tpl, want := range bad {
		if _, err := parseTemplate(tpl); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", tpl, err, want)
		}
	}
}

func TestShapes(t *testing.T) {
	a := Binding{Verb: "GET", Path: "/v1/{name=shelves/*/books/*}"}
	b := Binding{Verb: "GET", Path: "/v1/shelves/{s}/books/{b}"}
	if a.RouteKey() != b.RouteKey() {
		t.Errorf("%q and %q should collide", a.RouteKey(), b.RouteKey())
	}
	if a.Shape() == b.Shape() {
		t.Errorf("shapes %q and %q should differ", a.Shape(), b.Shape())
	}
	if got := a.OpenAPIPath(); got != "/v1/{name}" {
		t.Errorf("OpenAPIPath = %q", got)
	}
}
