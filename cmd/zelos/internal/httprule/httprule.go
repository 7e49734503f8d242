// Package httprule reads the google.api.http options of RPC methods into
// checked bindings (HTTP method, path template, body, response body), for
// the HTTP and OpenAPI generators.
//
// Path templates are parsed by internal/pathtpl, the parser the HTTP
// server routes with, so the CLI accepts exactly the templates the server
// serves and reports as collisions exactly the routes it would refuse.
package httprule

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/zelos-go/zelos/internal/pathtpl"
)

// Binding is one HTTP route of an RPC method.
type Binding struct {
	// Method is the RPC method.
	Method *protogen.Method
	// Index is 0 for the main rule and i for the i-th additional binding.
	Index int
	// Verb is the upper-case HTTP method, such as GET.
	Verb string
	// Path is the path template as written, such as /v1/{name=shelves/*}.
	Path string
	// Template is Path parsed.
	Template *pathtpl.Template
	// Vars are the path variables, in order.
	Vars []Var
	// Body is "*", a top-level request field name, or "".
	Body string
	// BodyField is the request field named by Body, if Body is a field.
	BodyField *protogen.Field
	// ResponseBody is a top-level reply field name, or "".
	ResponseBody string
	// ResponseField is the reply field named by ResponseBody.
	ResponseField *protogen.Field
	// Default reports a binding made up for a method with no rule.
	Default bool
}

// Var is a path variable.
type Var struct {
	// Path is the dotted field path, such as book.name.
	Path string
	// Pattern is the segment pattern, such as shelves/* ("*" when none is
	// given), with its literals unescaped.
	Pattern string
	// Fields is the chain of request fields named by Path.
	Fields []*protogen.Field
}

// Leaf returns the last field of the variable's path.
func (v Var) Leaf() *protogen.Field { return v.Fields[len(v.Fields)-1] }

// Error is a problem with a rule, at a position in a proto file.
type Error struct {
	File         string
	Line, Column int
	Msg          string
}

// Error implements error as "file:line:column: message".
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Options control which methods get bindings.
type Options struct {
	// DefaultRoutes gives unary and server-streaming methods without a
	// rule the binding POST /pkg.Service/Method with body "*".
	DefaultRoutes bool
}

// Service returns the bindings of the methods of s, in declaration order.
// Client- and bidi-streaming methods with a rule are an error, as HTTP
// cannot carry them.
func Service(s *protogen.Service, opts Options) ([]Binding, error) {
	var out []Binding
	for _, m := range s.Methods {
		bs, err := Method(m, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

// Method returns the bindings of m.
func Method(m *protogen.Method, opts Options) ([]Binding, error) {
	rule, _ := proto.GetExtension(m.Desc.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil || (rule.GetPattern() == nil && len(rule.GetAdditionalBindings()) == 0) {
		if !opts.DefaultRoutes || m.Desc.IsStreamingClient() {
			return nil, nil
		}
		b := Binding{
			Method:  m,
			Verb:    "POST",
			Path:    "/" + string(m.Parent.Desc.FullName()) + "/" + string(m.Desc.Name()),
			Body:    "*",
			Default: true,
		}
		return []Binding{b}, nil
	}
	if m.Desc.IsStreamingClient() {
		return nil, errAt(m, "method %s is client- or bidi-streaming and cannot have an HTTP rule", m.Desc.FullName())
	}
	var out []Binding
	b, err := binding(m, rule, 0)
	if err != nil {
		return nil, err
	}
	out = append(out, b)
	for i, ab := range rule.GetAdditionalBindings() {
		if len(ab.GetAdditionalBindings()) > 0 {
			return nil, errAt(m, "method %s: additional_bindings may not nest", m.Desc.FullName())
		}
		b, err := binding(m, ab, i+1)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func binding(m *protogen.Method, r *annotations.HttpRule, idx int) (Binding, error) {
	b := Binding{Method: m, Index: idx, Body: r.GetBody(), ResponseBody: r.GetResponseBody()}
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		b.Verb, b.Path = "GET", p.Get
	case *annotations.HttpRule_Put:
		b.Verb, b.Path = "PUT", p.Put
	case *annotations.HttpRule_Post:
		b.Verb, b.Path = "POST", p.Post
	case *annotations.HttpRule_Delete:
		b.Verb, b.Path = "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		b.Verb, b.Path = "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		b.Verb, b.Path = strings.ToUpper(p.Custom.GetKind()), p.Custom.GetPath()
		if b.Verb == "" {
			return b, errAt(m, "method %s: custom HTTP rule has no kind", m.Desc.FullName())
		}
	default:
		return b, errAt(m, "method %s: HTTP rule has no method and path", m.Desc.FullName())
	}
	tpl, err := pathtpl.Parse(b.Path)
	if err != nil {
		msg := err.Error()
		var pe *pathtpl.Error
		if errors.As(err, &pe) {
			msg = fmt.Sprintf("%s (at byte %d)", pe.Msg, pe.Offset)
		}
		return b, errAt(m, "method %s: path %q: %s", m.Desc.FullName(), b.Path, msg)
	}
	b.Template = tpl
	for _, tv := range tpl.Variables {
		v := Var{Path: tv.Name, Pattern: pattern(tpl, tv)}
		fields, err := fieldPath(m.Input, v.Path)
		if err != nil {
			return b, errAt(m, "method %s: path %q: variable {%s}: %v", m.Desc.FullName(), b.Path, v.Path, err)
		}
		leaf := fields[len(fields)-1]
		if leaf.Desc.IsList() || leaf.Desc.IsMap() || leaf.Desc.Kind() == protoreflect.MessageKind || leaf.Desc.Kind() == protoreflect.GroupKind {
			return b, errAt(m, "method %s: path %q: variable {%s}: field %s is not a scalar", m.Desc.FullName(), b.Path, v.Path, leaf.Desc.FullName())
		}
		if tv.MultiSegment() && leaf.Desc.Kind() != protoreflect.StringKind {
			return b, errAt(m, "method %s: path %q: variable {%s=%s}: a multi-segment variable needs a string field", m.Desc.FullName(), b.Path, v.Path, v.Pattern)
		}
		v.Fields = fields
		b.Vars = append(b.Vars, v)
	}
	if b.Body != "" && b.Body != "*" {
		f := topField(m.Input, b.Body)
		if f == nil {
			return b, errAt(m, "method %s: body %q: no field %q in %s", m.Desc.FullName(), b.Body, b.Body, m.Input.Desc.FullName())
		}
		if o := oneof(f); o != "" {
			return b, errAt(m, "method %s: body %q: field %s is in oneof %s, which a body cannot be", m.Desc.FullName(), b.Body, f.Desc.FullName(), o)
		}
		b.BodyField = f
	}
	if b.ResponseBody != "" {
		f := topField(m.Output, b.ResponseBody)
		if f == nil {
			return b, errAt(m, "method %s: response_body %q: no field %q in %s", m.Desc.FullName(), b.ResponseBody, b.ResponseBody, m.Output.Desc.FullName())
		}
		if o := oneof(f); o != "" {
			return b, errAt(m, "method %s: response_body %q: field %s is in oneof %s, which a response body cannot be", m.Desc.FullName(), b.ResponseBody, f.Desc.FullName(), o)
		}
		b.ResponseField = f
	}
	return b, nil
}

// oneof returns the name of the oneof that f is in, or "" if none is (the
// synthetic oneof of a proto3 optional field does not count). Such a field
// is no field of the generated Go struct, so it can be no HTTP body.
func oneof(f *protogen.Field) string {
	if f.Oneof == nil || f.Oneof.Desc.IsSynthetic() {
		return ""
	}
	return string(f.Oneof.Desc.Name())
}

// topField returns the top-level field of msg named name (proto name).
func topField(msg *protogen.Message, name string) *protogen.Field {
	for _, f := range msg.Fields {
		if string(f.Desc.Name()) == name {
			return f
		}
	}
	return nil
}

// fieldPath resolves a dotted field path in msg.
func fieldPath(msg *protogen.Message, path string) ([]*protogen.Field, error) {
	var out []*protogen.Field
	cur := msg
	for i, part := range strings.Split(path, ".") {
		if cur == nil {
			return nil, fmt.Errorf("%s is not a message", strings.Join(strings.Split(path, ".")[:i], "."))
		}
		f := topField(cur, part)
		if f == nil {
			return nil, fmt.Errorf("no field %q in %s", part, cur.Desc.FullName())
		}
		out = append(out, f)
		if f.Desc.IsList() || f.Desc.IsMap() {
			cur = nil
		} else {
			cur = f.Message
		}
	}
	return out, nil
}

// pattern returns the segments of v in t as a template pattern: "*" for
// {id}, "shelves/*" for {name=shelves/*}.
func pattern(t *pathtpl.Template, v pathtpl.Variable) string {
	end := v.End
	if end < 0 {
		end = len(t.Segments)
	}
	parts := make([]string, 0, end-v.Start)
	for _, seg := range t.Segments[v.Start:end] {
		switch seg.Kind {
		case pathtpl.Wildcard:
			parts = append(parts, "*")
		case pathtpl.DoubleWildcard:
			parts = append(parts, "**")
		default:
			parts = append(parts, seg.Literal)
		}
	}
	return strings.Join(parts, "/")
}

// CheckCollisions returns an error naming the first two bindings that a
// router cannot tell apart. It inserts them into a pathtpl.Tree, the
// structure the HTTP server routes with, so a route the CLI accepts is
// one the server accepts: /v1/{name=shelves/*} and /v1/shelves/{id}
// collide, /v1/things and /v1/things/ do not.
func CheckCollisions(bs []Binding) error {
	var tree pathtpl.Tree[Binding]
	for _, b := range bs {
		if b.Template == nil {
			continue
		}
		if tree.Insert(b.Verb, b.Template, b) == nil {
			continue
		}
		for _, prev := range bs {
			if prev.Verb == b.Verb && prev.Template != nil && sameShape(prev.Template, b.Template) {
				pf, pl, pc := pos(prev.Method)
				return errAt(b.Method, "route %s %s of %s collides with %s %s of %s (%s:%d:%d)",
					b.Verb, b.Path, b.Method.Desc.FullName(), prev.Verb, prev.Path, prev.Method.Desc.FullName(), pf, pl, pc)
			}
		}
	}
	return nil
}

// sameShape reports whether a and b match the same paths: equal segment
// kinds and literals, and the same verb (the condition of Tree.Insert).
func sameShape(a, b *pathtpl.Template) bool {
	if a.Verb != b.Verb || len(a.Segments) != len(b.Segments) {
		return false
	}
	for i := range a.Segments {
		if a.Segments[i] != b.Segments[i] {
			return false
		}
	}
	return true
}

// QueryFields returns the top-level request fields of b that travel in the
// query string: those bound by neither the path nor the body, sorted by
// field number.
func (b Binding) QueryFields() []*protogen.Field {
	if b.Body == "*" {
		return nil
	}
	bound := map[*protogen.Field]bool{}
	for _, v := range b.Vars {
		if len(v.Fields) == 1 {
			bound[v.Fields[0]] = true
		}
	}
	if b.BodyField != nil {
		bound[b.BodyField] = true
	}
	var out []*protogen.Field
	for _, f := range b.Method.Input.Fields {
		if !bound[f] {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Desc.Number() < out[j].Desc.Number() })
	return out
}

func errAt(m *protogen.Method, format string, args ...any) *Error {
	f, l, c := pos(m)
	return &Error{File: f, Line: l, Column: c, Msg: fmt.Sprintf(format, args...)}
}

// pos returns the position of m's HTTP option, or of m itself.
func pos(m *protogen.Method) (file string, line, col int) {
	fd := m.Desc.ParentFile()
	locs := fd.SourceLocations()
	path := append(protoreflect.SourcePath(nil), m.Location.Path...)
	l := locs.ByPath(append(append(protoreflect.SourcePath(nil), path...), 4, int32(annotations.E_Http.Field)))
	if l.Path == nil {
		l = locs.ByPath(path)
	}
	return fd.Path(), l.StartLine + 1, l.StartColumn + 1
}
