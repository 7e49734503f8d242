package httprule_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
	"github.com/zelos-go/zelos/cmd/zelos/internal/httprule"
)

const header = `syntax = "proto3";
package t.v1;
import "google/api/annotations.proto";
option go_package = "example.com/t/v1;v1";
message Req { string name = 1; Inner inner = 2; int64 num = 3; repeated string tags = 4; string q = 5; Inner body = 6; oneof k { string o = 7; } }
message Inner { string id = 1; }
message Rep { Inner item = 1; }
`

// service compiles header+body and returns its first service.
func service(t *testing.T, body string) *protogen.Service {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "t.proto")
	if err := os.WriteFile(p, []byte(header+body), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := compile.Compile(context.Background(), compile.Input{Files: []string{p}, ImportPaths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := protogen.Options{}.New(res.Request)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range gen.Files {
		if f.Generate {
			return f.Services[0]
		}
	}
	t.Fatal("no file to generate")
	return nil
}

func rpc(name, opt string) string {
	return "  rpc " + name + "(Req) returns (Rep) {\n    option (google.api.http) = " + opt + ";\n  }\n"
}

// TestTemplates checks that a template the HTTP server serves is accepted,
// with its variables, and that a bad one is reported with its place.
func TestTemplates(t *testing.T) {
	good := []struct {
		path string
		vars string // path=pattern ...
	}{
		{"/v1/books", ""},
		{"/v1/books/", ""}, // the server routes a trailing "/"; the former CLI parser refused it
		{"/", ""},
		{"/v1/{name=shelves/*/books/*}", "name=shelves/*/books/*"},
		{"/v1/shelves/{name}/books/{inner.id}", "name=* inner.id=*"},
		{"/v1/users/{name}:cancel", "name=*"},
		{"/files/{name=**}", "name=**"},
		{"/v1/{name=projects/*}/things:search", "name=projects/*"},
	}
	for _, c := range good {
		t.Run(c.path, func(t *testing.T) {
			bs, err := httprule.Service(service(t, "service S {\n"+rpc("Get", `{get: "`+c.path+`"}`)+"}\n"), httprule.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range bs[0].Vars {
				got = append(got, v.Path+"="+v.Pattern)
			}
			if strings.Join(got, " ") != c.vars {
				t.Errorf("vars %q, want %q", got, c.vars)
			}
			if bs[0].Template == nil || bs[0].Template.Raw != c.path {
				t.Errorf("Template = %v", bs[0].Template)
			}
		})
	}
	bad := []struct{ path, want string }{
		{"v1/books", `path "v1/books": template must start with "/" \(at byte 0\)`},
		{"/v1//books", `empty segment`},
		{"/v1/{a=b/{c}}", `nested variable`},
		{"/v1/{name}/{name}", `duplicate variable "name"`},
		{"/v1/{nmae}", `variable \{nmae\}: no field "nmae" in t\.v1\.Req`},
		{"/v1/{inner}", `field t\.v1\.Req\.inner is not a scalar`},
		{"/v1/{tags}", `field t\.v1\.Req\.tags is not a scalar`},
		{"/v1/{num=x/*}", `a multi-segment variable needs a string field`},
		{"/v1/{name.id}", `name is not a message`},
	}
	for _, c := range bad {
		t.Run(c.path, func(t *testing.T) {
			_, err := httprule.Service(service(t, "service S {\n"+rpc("Get", `{get: "`+c.path+`"}`)+"}\n"), httprule.Options{})
			var he *httprule.Error
			if !errors.As(err, &he) {
				t.Fatalf("err = %v, want an *httprule.Error", err)
			}
			if !regexp.MustCompile(`^t\.proto:\d+:5: method t\.v1\.S\.Get: .*` + c.want).MatchString(err.Error()) {
				t.Errorf("err = %q, want %q", err, c.want)
			}
		})
	}
}

// TestRules covers the other parts of a rule: verbs, bodies, additional
// bindings, default routes and query fields.
func TestRules(t *testing.T) {
	s := service(t, "service S {\n"+
		rpc("A", `{post: "/v1/a" body: "*"}`)+
		rpc("B", `{put: "/v1/b/{name}" body: "body" response_body: "item" additional_bindings {patch: "/v1/b2/{name}" body: "*"}}`)+
		rpc("C", `{delete: "/v1/c/{name}"}`)+
		rpc("D", `{custom: {kind: "head" path: "/v1/d"}}`)+
		"  rpc E(Req) returns (Rep);\n  rpc F(stream Req) returns (Rep);\n}\n")
	bs, err := httprule.Service(s, httprule.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bs {
		got = append(got, b.Verb+" "+b.Path)
	}
	if want := "POST /v1/a|PUT /v1/b/{name}|PATCH /v1/b2/{name}|DELETE /v1/c/{name}|HEAD /v1/d"; strings.Join(got, "|") != want {
		t.Errorf("routes %q, want %q", strings.Join(got, "|"), want)
	}
	if b := bs[1]; b.BodyField == nil || b.BodyField.Desc.Name() != "body" || b.ResponseField == nil || b.Index != 0 || bs[2].Index != 1 {
		t.Errorf("B: body %v, response %v, index %d/%d", b.BodyField, b.ResponseField, b.Index, bs[2].Index)
	}
	queryNames := func(b httprule.Binding) string {
		var names []string
		for _, f := range b.QueryFields() {
			names = append(names, string(f.Desc.Name()))
		}
		return strings.Join(names, " ")
	}
	if q := queryNames(bs[3]); q != "inner num tags q body o" {
		t.Errorf("DELETE query fields %q", q)
	}
	if q := queryNames(bs[1]); q != "inner num tags q o" {
		t.Errorf("PUT query fields %q", q)
	}
	if q := queryNames(bs[0]); q != "" {
		t.Errorf(`body "*" query fields %q`, q)
	}
	if err := httprule.CheckCollisions(bs); err != nil {
		t.Error(err)
	}

	def, err := httprule.Service(s, httprule.Options{DefaultRoutes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(def) != 6 || def[5].Path != "/t.v1.S/E" || !def[5].Default || def[5].Verb != "POST" || def[5].Body != "*" {
		t.Errorf("default routes: %d bindings, last %+v", len(def), def[len(def)-1])
	}
}

func TestRuleErrors(t *testing.T) {
	cases := []struct{ name, svc, want string }{
		{"client stream", "  rpc U(stream Req) returns (Rep) {\n    option (google.api.http) = {post: \"/v1/u\" body: \"*\"};\n  }\n", `is client- or bidi-streaming`},
		{"custom without kind", rpc("K", `{custom: {path: "/v1/k"}}`), `custom HTTP rule has no kind`},
		{"no pattern", rpc("N", `{body: "*" additional_bindings {get: "/v1/n"}}`), `HTTP rule has no method and path`},
		{"nested additional bindings", rpc("N", `{get: "/v1/n" additional_bindings {get: "/v1/n2" additional_bindings {get: "/v1/n3"}}}`), `additional_bindings may not nest`},
		{"bad additional binding", rpc("N", `{get: "/v1/n" additional_bindings {get: "n2"}}`), `must start with`},
		{"unknown body", rpc("N", `{post: "/v1/n" body: "nope"}`), `body "nope": no field "nope" in t\.v1\.Req`},
		{"body in a oneof", rpc("N", `{post: "/v1/n" body: "o"}`), `field t\.v1\.Req\.o is in oneof k`},
		{"unknown response body", rpc("N", `{get: "/v1/n" response_body: "nope"}`), `response_body "nope": no field "nope" in t\.v1\.Rep`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := httprule.Service(service(t, "service S {\n"+c.svc+"}\n"), httprule.Options{})
			if err == nil || !regexp.MustCompile(c.want).MatchString(err.Error()) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// TestCollisions checks that collisions follow the server's router: the
// same shape collides whatever the variable names and patterns, and a
// trailing "/", another verb or another method does not.
func TestCollisions(t *testing.T) {
	cases := []struct {
		a, b    string
		collide bool
	}{
		{`{get: "/v1/{name=shelves/*}"}`, `{get: "/v1/shelves/{inner.id}"}`, true},
		{`{get: "/v1/things/{name}"}`, `{get: "/v1/things/{q}"}`, true},
		{`{get: "/v1/things"}`, `{get: "/v1/things/"}`, false},
		{`{get: "/v1/things/{name}"}`, `{get: "/v1/things/{name}:cancel"}`, false},
		{`{get: "/v1/things/{name}"}`, `{delete: "/v1/things/{name}"}`, false},
		{`{get: "/v1/things/me"}`, `{get: "/v1/things/{name}"}`, false},
	}
	for _, c := range cases {
		t.Run(c.a+" "+c.b, func(t *testing.T) {
			bs, err := httprule.Service(service(t, "service S {\n"+rpc("A", c.a)+rpc("B", c.b)+"}\n"), httprule.Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = httprule.CheckCollisions(bs)
			if !c.collide {
				if err != nil {
					t.Errorf("unexpected collision: %v", err)
				}
				return
			}
			if err == nil || !regexp.MustCompile(`^t\.proto:\d+:5: route .* of t\.v1\.S\.B collides with .* of t\.v1\.S\.A \(t\.proto:\d+:5\)$`).MatchString(err.Error()) {
				t.Errorf("err = %v, want B colliding with A", err)
			}
		})
	}
}
