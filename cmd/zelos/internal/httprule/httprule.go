// Package httprule reads the google.api.http options of RPC methods into
// checked bindings (HTTP method, path template, body, response body), for
// the HTTP and OpenAPI generators.
package httprule

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
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
	// given).
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
	vars, err := parseTemplate(b.Path)
	if err != nil {
		return b, errAt(m, "method %s: path %q: %v", m.Desc.FullName(), b.Path, err)
	}
	for _, v := range vars {
		fields, err := fieldPath(m.Input, v.Path)
		if err != nil {
			return b, errAt(m, "method %s: path %q: variable {%s}: %v", m.Desc.FullName(), b.Path, v.Path, err)
		}
		leaf := fields[len(fields)-1]
		if leaf.Desc.IsList() || leaf.Desc.IsMap() || leaf.Desc.Kind() == protoreflect.MessageKind || leaf.Desc.Kind() == protoreflect.GroupKind {
			return b, errAt(m, "method %s: path %q: variable {%s}: field %s is not a scalar", m.Desc.FullName(), b.Path, v.Path, leaf.Desc.FullName())
		}
		if v.Pattern != "*" && leaf.Desc.Kind() != protoreflect.StringKind {
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

// parseTemplate checks a path template and returns its variables:
//
//	Template = "/" Segments [ ":" Verb ]
//	Segment  = "*" | "**" | LITERAL | Variable
//	Variable = "{" FieldPath [ "=" Segments ] "}"
func parseTemplate(tpl string) ([]Var, error) {
	if !strings.HasPrefix(tpl, "/") {
		return nil, fmt.Errorf("does not start with /")
	}
	var vars []Var
	seen := map[string]bool{}
	s := tpl[1:]
	// A verb follows the last ':' outside braces.
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "}") {
		if s[i+1:] == "" {
			return nil, fmt.Errorf("empty verb")
		}
		s = s[:i]
	}
	for len(s) > 0 {
		var seg string
		if s[0] == '{' {
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed {")
			}
			seg, s = s[:end+1], s[end+1:]
			body := seg[1 : len(seg)-1]
			name, pattern, hasPattern := strings.Cut(body, "=")
			if !hasPattern {
				pattern = "*"
			}
			if name == "" || !validFieldPath(name) {
				return nil, fmt.Errorf("bad variable name %q", name)
			}
			if pattern == "" || strings.ContainsAny(pattern, "{}=") {
				return nil, fmt.Errorf("bad pattern %q in {%s}", pattern, body)
			}
			if seen[name] {
				return nil, fmt.Errorf("variable {%s} appears twice", name)
			}
			seen[name] = true
			vars = append(vars, Var{Path: name, Pattern: pattern})
		} else {
			end := strings.IndexByte(s, '/')
			if end < 0 {
				end = len(s)
			}
			seg, s = s[:end], s[end:]
			if strings.ContainsAny(seg, "{}=") {
				return nil, fmt.Errorf("bad segment %q", seg)
			}
		}
		if seg == "" {
			return nil, fmt.Errorf("empty segment")
		}
		if len(s) > 0 {
			if s[0] != '/' {
				return nil, fmt.Errorf("unexpected %q after %q", s[:1], seg)
			}
			s = s[1:]
			if s == "" {
				return nil, fmt.Errorf("trailing /")
			}
		}
	}
	return vars, nil
}

func validFieldPath(p string) bool {
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// RouteKey returns a key that is equal for two routes that a router
// cannot tell apart: the HTTP method and the template's shape, with each
// variable replaced by its pattern ({name=shelves/*} by shelves/*, {id}
// by *), so /v1/{name=shelves/*} and /v1/shelves/{id} collide.
func (b Binding) RouteKey() string {
	return b.Verb + " " + b.shape(true)
}

// Shape returns the template with variable names dropped ({id} and
// {name} both become {*}; {name=shelves/*} becomes {shelves/*}).
func (b Binding) Shape() string { return b.shape(false) }

func (b Binding) shape(expand bool) string {
	var sb strings.Builder
	s := b.Path
	for len(s) > 0 {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			sb.WriteString(s)
			break
		}
		sb.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}') + i
		_, pattern, ok := strings.Cut(s[i+1:end], "=")
		if !ok {
			pattern = "*"
		}
		if expand {
			sb.WriteString(pattern)
		} else {
			sb.WriteString("{" + pattern + "}")
		}
		s = s[end+1:]
	}
	return sb.String()
}

// OpenAPIPath returns the template in OpenAPI form: every variable is
// written {path}, its pattern dropped.
func (b Binding) OpenAPIPath() string {
	var sb strings.Builder
	s := b.Path
	for len(s) > 0 {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			sb.WriteString(s)
			break
		}
		sb.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}') + i
		name, _, _ := strings.Cut(s[i+1:end], "=")
		sb.WriteString("{" + name + "}")
		s = s[end+1:]
	}
	return sb.String()
}

// CheckCollisions returns an error naming the first two bindings that a
// router cannot tell apart.
func CheckCollisions(bs []Binding) error {
	seen := map[string]Binding{}
	for _, b := range bs {
		k := b.RouteKey()
		if prev, ok := seen[k]; ok {
			pf, pl, pc := pos(prev.Method)
			e := errAt(b.Method, "route %s %s of %s collides with %s %s of %s (%s:%d:%d)",
				b.Verb, b.Path, b.Method.Desc.FullName(), prev.Verb, prev.Path, prev.Method.Desc.FullName(), pf, pl, pc)
			return e
		}
		seen[k] = b
	}
	return nil
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
