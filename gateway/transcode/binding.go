package transcode

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/zelos-go/zelos/internal/pathtpl"
)

// Binding is one route: an HTTP method and path template bound to a gRPC
// method by a google.api.http rule (or one of its additional bindings).
type Binding struct {
	t          *Transcoder
	method     protoreflect.MethodDescriptor
	fullMethod string
	verb       string
	pattern    string
	tpl        *pathtpl.Template
	vars       []pathVar
	body       bodyKind
	bodyField  protoreflect.FieldDescriptor // for bodyField
	respField  protoreflect.FieldDescriptor // nil: the whole reply
	streamDesc *grpc.StreamDesc             // for server-streaming methods
}

type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyWhole
	bodyField
)

// pathVar is a path variable with its field resolved.
type pathVar struct {
	name   string                         // the field path, "book.name"
	fields []protoreflect.FieldDescriptor // the fields along name
	multi  bool                           // spans several segments: "%2F" stays escaped
	typ    string                         // the Go type a Zelos server reports, "" for form decoding
	bits   int
}

// FullMethod returns the gRPC method name, "/pkg.Service/Method".
func (b *Binding) FullMethod() string { return b.fullMethod }

// Method returns the descriptor of the gRPC method.
func (b *Binding) Method() protoreflect.MethodDescriptor { return b.method }

// HTTPMethod returns the route's HTTP method, such as "GET", or "" for a
// route of any method (a custom rule of kind "*").
func (b *Binding) HTTPMethod() string { return b.verb }

// Pattern returns the route's path template as the rule writes it, such as
// "/v1/{name=shelves/*}".
func (b *Binding) Pattern() string { return b.pattern }

// ServerStreaming reports whether the method streams its replies, and so is
// served with Stream rather than Invoke and Encode.
func (b *Binding) ServerStreaming() bool { return b.streamDesc != nil }

func newBinding(t *Transcoder, md protoreflect.MethodDescriptor, r *annotations.HttpRule) (*Binding, error) {
	verb, path, ok := verbOf(r)
	if !ok {
		return nil, fmt.Errorf("transcode: method %s: HTTP rule has no method and path", md.FullName())
	}
	tpl, err := pathtpl.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("transcode: method %s: %w", md.FullName(), err)
	}
	b := &Binding{
		t:          t,
		method:     md,
		fullMethod: "/" + string(md.Parent().FullName()) + "/" + string(md.Name()),
		verb:       verb,
		pattern:    path,
		tpl:        tpl,
	}
	if md.IsStreamingServer() {
		b.streamDesc = &grpc.StreamDesc{StreamName: string(md.Name()), ServerStreams: true}
	}
	in, out := md.Input(), md.Output()
	for _, v := range tpl.Variables {
		pv, err := newPathVar(in, v)
		if err != nil {
			return nil, fmt.Errorf("transcode: method %s: path %q: variable {%s}: %w", md.FullName(), path, v.Name, err)
		}
		b.vars = append(b.vars, pv)
	}
	switch body := r.GetBody(); body {
	case "":
	case "*":
		b.body = bodyWhole
	default:
		fd, err := topField(in, body)
		if err != nil {
			return nil, fmt.Errorf("transcode: method %s: body %q: %w", md.FullName(), body, err)
		}
		b.body, b.bodyField = bodyField, fd
	}
	if rb := r.GetResponseBody(); rb != "" {
		fd, err := topField(out, rb)
		if err != nil {
			return nil, fmt.Errorf("transcode: method %s: response_body %q: %w", md.FullName(), rb, err)
		}
		b.respField = fd
	}
	return b, nil
}

// topField returns the top-level field of md named name (its proto name),
// which may not be in a oneof: a Zelos service's generated code could not
// bind it.
func topField(md protoreflect.MessageDescriptor, name string) (protoreflect.FieldDescriptor, error) {
	fd := md.Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		return nil, fmt.Errorf("no field %q in %s", name, md.FullName())
	}
	if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() {
		return nil, fmt.Errorf("field %s is in oneof %s", fd.FullName(), o.Name())
	}
	return fd, nil
}

// newPathVar resolves variable v in the request message md.
func newPathVar(md protoreflect.MessageDescriptor, v pathtpl.Variable) (pathVar, error) {
	pv := pathVar{name: v.Name, multi: v.MultiSegment()}
	cur := md
	for part := range strings.SplitSeq(v.Name, ".") {
		if cur == nil {
			return pv, fmt.Errorf("%s is not a message", pv.fields[len(pv.fields)-1].FullName())
		}
		fd := cur.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			return pv, fmt.Errorf("no field %q in %s", part, cur.FullName())
		}
		pv.fields = append(pv.fields, fd)
		cur = nil
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
			cur = fd.Message()
		}
	}
	leaf := pv.fields[len(pv.fields)-1]
	if leaf.IsList() || leaf.IsMap() || leaf.Kind() == protoreflect.MessageKind || leaf.Kind() == protoreflect.GroupKind {
		return pv, fmt.Errorf("field %s is not a scalar", leaf.FullName())
	}
	if pv.multi && leaf.Kind() != protoreflect.StringKind {
		return pv, fmt.Errorf("a multi-segment variable needs a string field, %s is not", leaf.FullName())
	}
	pv.typ, pv.bits = fastType(leaf.Kind())
	return pv, nil
}

// fastType returns the Go type name and bit size with which a Zelos server
// parses a path variable of kind k directly, or "" for kinds it decodes
// with encoding/form (enums, bytes).
func fastType(k protoreflect.Kind) (string, int) {
	switch k {
	case protoreflect.StringKind:
		return "string", 0
	case protoreflect.BoolKind:
		return "bool", 0
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "int32", 32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "int64", 64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "uint32", 32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "uint64", 64
	case protoreflect.FloatKind:
		return "float32", 32
	case protoreflect.DoubleKind:
		return "float64", 64
	}
	return "", 0
}
