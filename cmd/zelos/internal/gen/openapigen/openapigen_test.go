package openapigen_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"gopkg.in/yaml.v3"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/openapigen"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
)

// shopDocument generates testdata/shop/v1/shop.openapi.yaml and checks it
// against the checked-in copy (rewritten with -update).
func shopDocument(t *testing.T) []byte {
	t.Helper()
	out, err := protoc.Generate(context.Background(), []string{filepath.Join("testdata", "shop")},
		protoc.Options{ImportPaths: []string{"testdata"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Name != "shop/v1/shop.openapi.yaml" {
			continue
		}
		golden := filepath.Join("testdata", "shop", "v1", "shop.openapi.yaml")
		if *update {
			if err := os.WriteFile(golden, o.Content, 0o644); err != nil {
				t.Fatal(err)
			}
		} else if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(want, o.Content) {
			t.Errorf("%s differs from the generated document (%v); run go test -update and review the diff", golden, err)
		}
		return o.Content
	}
	t.Fatal("no shop document")
	return nil
}

func model(t *testing.T, doc []byte) *v3.Document {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
		}
	}
	m, err := d.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	return &m.Model
}

// pathParams returns the names of op's path parameters, in order.
func pathParams(op *v3.Operation) []string {
	var out []string
	for _, p := range op.Parameters {
		if p.In == "path" {
			out = append(out, p.Name)
		}
	}
	return out
}

func operations(item *v3.PathItem) map[string]*v3.Operation {
	out := map[string]*v3.Operation{}
	for verb, op := range map[string]*v3.Operation{
		"get": item.Get, "put": item.Put, "post": item.Post, "delete": item.Delete,
		"patch": item.Patch, "head": item.Head, "options": item.Options, "trace": item.Trace,
	} {
		if op != nil {
			out[verb] = op
		}
	}
	return out
}

// templateVar is what Spectral's path-params rule takes for a path
// variable; a name it does not match, such as shop.id, is not a variable
// to it, and its parameter is then "not used in path".
var templateVar = regexp.MustCompile(`\{;?\??([a-zA-Z0-9_-]+)\*?\}`)

// checkPathParams applies the path-params rule of Spectral's oas ruleset:
// every template variable is a required path parameter of every
// operation and every path parameter a variable, and no two paths are
// equivalent (the same but for variable names).
func checkPathParams(t *testing.T, m *v3.Document) {
	t.Helper()
	seen := map[string]string{}
	for path, item := range m.Paths.PathItems.FromOldest() {
		if strings.Count(path, "{") != len(templateVar.FindAllString(path, -1)) {
			t.Errorf("path %s has a variable name Spectral does not accept", path)
		}
		var vars []string
		for _, mm := range templateVar.FindAllStringSubmatch(path, -1) {
			vars = append(vars, mm[1])
		}
		norm := templateVar.ReplaceAllString(path, "%")
		if prev, ok := seen[norm]; ok {
			t.Errorf("paths %s and %s are equivalent", prev, path)
		}
		seen[norm] = path
		for verb, op := range operations(item) {
			got := pathParams(op)
			if !slices.Equal(got, vars) {
				t.Errorf("%s %s: path parameters %v, want %v", verb, path, got, vars)
			}
			for _, p := range op.Parameters {
				if p.In == "path" && (p.Required == nil || !*p.Required) {
					t.Errorf("%s %s: path parameter %s not required", verb, path, p.Name)
				}
			}
		}
	}
}

// TestPathKeying checks the new user's shop: GET and DELETE /v1/shops/{id}
// keep {id} although PATCH /v1/shops/{shop.id} comes first, the PATCH
// shares their path (the same requests match both) and says which field
// its parameter fills, and every path passes the path-params rule.
func TestPathKeying(t *testing.T) {
	m := model(t, shopDocument(t))
	checkPathParams(t, m)

	item, ok := m.Paths.PathItems.Get("/v1/shops/{id}")
	if !ok {
		t.Fatalf("no /v1/shops/{id}; paths: %v", slices.Collect(m.Paths.PathItems.KeysFromOldest()))
	}
	for verb, op := range map[string]*v3.Operation{"get": item.Get, "delete": item.Delete, "patch": item.Patch} {
		if op == nil {
			t.Errorf("/v1/shops/{id} has no %s", verb)
		}
	}
	if d := item.Patch.Parameters[0].Description; !strings.Contains(d, "The field shop.id.") {
		t.Errorf("PATCH parameter description %q does not name shop.id", d)
	}
	if d := item.Get.Parameters[0].Description; d != "" {
		t.Errorf("GET parameter description %q, want none (it is the field id)", d)
	}
	cases := []struct {
		path, verb string
		params     []string
		desc       string // in the first parameter's description
	}{
		{"/v1/shops/{shop_id}:rename", "post", []string{"shop_id"}, "The field shop.id."},
		{"/v1/shops/{name_1}/shelves/{name_2}", "get", []string{"name_1", "name_2"},
			"Part of the field name, which is shops/{name_1}/shelves/{name_2}. The shelf: shops/{shop}/shelves/{shelf}."},
		{"/v1/files/{path}", "get", []string{"path"}, "{path} may span segments."},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			item, ok := m.Paths.PathItems.Get(tc.path)
			if !ok {
				t.Fatalf("no path %s", tc.path)
			}
			op := operations(item)[tc.verb]
			if op == nil {
				t.Fatalf("no %s", tc.verb)
			}
			if got := pathParams(op); !slices.Equal(got, tc.params) {
				t.Errorf("parameters %v, want %v", got, tc.params)
			}
			if d := op.Parameters[0].Description; !strings.Contains(d, tc.desc) {
				t.Errorf("description %q lacks %q", d, tc.desc)
			}
		})
	}
}

// TestPathParamsRule runs the path-params check on the documents of the
// protoc test protos, with and without default routes.
func TestPathParamsRule(t *testing.T) {
	for _, def := range []bool{false, true} {
		out, err := protoc.Generate(context.Background(),
			[]string{filepath.Join(protocTestdata, "api"), filepath.Join(protocTestdata, "bookstore")},
			protoc.Options{ImportPaths: []string{protocTestdata}, DefaultRoutes: def})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			if strings.HasSuffix(o.Name, ".openapi.yaml") {
				t.Run(o.Name, func(t *testing.T) { checkPathParams(t, model(t, o.Content)) })
			}
		}
	}
}

// schemaYAML renders a schema (or a component's property) as YAML.
func schemaYAML(t *testing.T, s *base.SchemaProxy) string {
	t.Helper()
	b, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNullableFields checks that the fields protojson writes as null when
// unset (singular message fields, well-known types among them, and
// NullValue) accept null, and that the others do not.
func TestNullableFields(t *testing.T) {
	m := model(t, shopDocument(t))
	shop, ok := m.Components.Schemas.Get("shop.v1.Shop")
	if !ok {
		t.Fatal("no shop.v1.Shop")
	}
	props := shop.Schema().Properties
	cases := []struct {
		field string
		want  string // the property's schema as YAML
	}{
		{"opened", "type:\n    - string\n    - \"null\"\nformat: date-time\n"},
		{"address", "oneOf:\n    - $ref: '#/components/schemas/shop.v1.Address'\n    - type: \"null\"\n"},
		{"labels", "type:\n    - object\n    - \"null\"\nadditionalProperties: true\n"},
		{"nothing", "type: \"null\"\n"},
		// Left out when unset, never null:
		{"company", "$ref: '#/components/schemas/shop.v1.Address'\n"},
		{"motto", "type: string\n"},
		{"branches", "type: array\nitems:\n    $ref: '#/components/schemas/shop.v1.Address'\n"},
		{"byCity", "type: object\nadditionalProperties:\n    $ref: '#/components/schemas/shop.v1.Address'\n"},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			p, ok := props.Get(tc.field)
			if !ok {
				t.Fatalf("no property %s", tc.field)
			}
			if got := schemaYAML(t, p); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestStreamEventSchema checks that a server-streaming route names its
// event message, and that the message is a component.
func TestStreamEventSchema(t *testing.T) {
	m := model(t, shopDocument(t))
	item, ok := m.Paths.PathItems.Get("/v1/shops:watch")
	if !ok || item.Get == nil {
		t.Fatal("no GET /v1/shops:watch")
	}
	mt, ok := item.Get.Responses.Codes.GetOrZero("200").Content.Get("text/event-stream")
	if !ok {
		t.Fatal("no text/event-stream reply")
	}
	ext, ok := mt.Extensions.Get(openapigen.EventExtension)
	if !ok {
		t.Fatalf("no %s", openapigen.EventExtension)
	}
	var ref map[string]string
	if err := ext.Decode(&ref); err != nil {
		t.Fatal(err)
	}
	if ref["$ref"] != "#/components/schemas/shop.v1.ShopEvent" {
		t.Errorf("%s = %v", openapigen.EventExtension, ref)
	}
	if _, ok := m.Components.Schemas.Get("shop.v1.ShopEvent"); !ok {
		t.Error("no shop.v1.ShopEvent component")
	}
}

// TestDocumentIsYAML checks the header and that the document parses as
// plain YAML with the version we promise.
func TestDocumentIsYAML(t *testing.T) {
	doc := shopDocument(t)
	if !bytes.HasPrefix(doc, []byte("# Code generated by zelos ")) || !bytes.Contains(doc[:200], []byte("DO NOT EDIT.")) {
		t.Errorf("header: %q", doc[:80])
	}
	var v struct {
		OpenAPI string `yaml:"openapi"`
	}
	if err := yaml.Unmarshal(doc, &v); err != nil || v.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, %v", v.OpenAPI, err)
	}
}
