// Package transcode serves gRPC methods over HTTP with JSON, from the
// methods' google.api.http rules: a request to a rule's route becomes a
// gRPC call, the reply is written as JSON and a failure as the Zelos error
// body.
//
//	files, err := transcode.FromReflection(ctx, conn) // or LoadDescriptorSet("api.pb")
//	if err != nil { ... }
//	tc, err := transcode.New(files)
//	if err != nil { ... }
//	http.Handle("/", tc.Handler(conn))
//
// A route binds a request the way a Zelos service's own HTTP server binds
// the same route from generated code, so that a client sees no difference
// between the two: the query string fills the request message
// (encoding/form rules), then the body (the whole message for body "*", one
// field for body "field"), then the path variables, which win. A non-empty
// body replaces what the query set in the part it covers, so that in effect
// the query binds only the fields neither the path nor the body binds, as
// google.api.http specifies. Mistakes get
// the same 400 reasons: INVALID_QUERY, BAD_REQUEST_BODY, INVALID_PATH, and
// 413 BODY_TOO_LARGE, 415 UNSUPPORTED_MEDIA_TYPE. Replies are written with
// the options of the Zelos JSON codec (unpopulated fields emitted,
// lowerCamelCase names), only the response_body field when the rule names
// one. A gRPC error becomes the *errors.Error it carries (code, reason,
// metadata), written by transport/http's DefaultErrorEncoder.
//
// Server-streaming methods with a rule are served as Server-Sent Events,
// one event per message. Client- and bidi-streaming methods get no route,
// as HTTP cannot carry them; neither do methods without a rule.
//
// Everything that depends only on the descriptors (field lookups for path
// variables, the body and response body fields) is worked out by New; a
// request costs its decoding and the call.
package transcode

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/zelos-go/zelos/encoding/json"
	"github.com/zelos-go/zelos/internal/pathtpl"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// DefaultMaxBodySize is the default MaxBodySize: 4 MiB, as for a Zelos
// HTTP server.
const DefaultMaxBodySize = zhttp.DefaultMaxBodySize

// defaultForwardHeaders are the request headers forwarded unless
// ForwardHeaders says otherwise.
func defaultForwardHeaders() []string { return []string{"x-md-*", "authorization"} }

// Option configures a Transcoder.
type Option func(*options)

type options struct {
	maxBody int64
	forward []string
	sse     []zhttp.SSEOption
}

// MaxBodySize bounds request bodies: a larger one is refused with 413
// BODY_TOO_LARGE before it is decoded. The default is DefaultMaxBodySize;
// zero or less means no bound.
func MaxBodySize(n int64) Option { return func(o *options) { o.maxBody = n } }

// ForwardHeaders sets the request headers Handler, Metadata and
// OutgoingContext forward to the backend as gRPC metadata: header names, or
// prefixes ending in "*", matched case-insensitively. The default is
// "x-md-*" (Zelos metadata) and "authorization"; no names forwards nothing.
func ForwardHeaders(names ...string) Option {
	return func(o *options) { o.forward = append([]string{}, names...) }
}

// SSEOptions sets the options of the event streams of server-streaming
// routes, such as zhttp.Heartbeat.
func SSEOptions(opts ...zhttp.SSEOption) Option {
	return func(o *options) { o.sse = append(o.sse, opts...) }
}

// Transcoder holds the routes of a set of gRPC services. It is safe for
// concurrent use.
type Transcoder struct {
	tree     pathtpl.Tree[*Binding]
	bindings []*Binding
	maxBody  int64
	forward  headerRules
	sse      []zhttp.SSEOption
	codec    *json.Codec
}

// New builds the routes of every method in files that has a google.api.http
// rule, its additional_bindings included. A rule that does not fit its
// method (a path variable or body naming no field, a malformed template)
// and two routes a request could not tell apart are errors naming the
// methods.
func New(files *protoregistry.Files, opts ...Option) (*Transcoder, error) {
	o := options{maxBody: DefaultMaxBodySize, forward: defaultForwardHeaders()}
	for _, opt := range opts {
		opt(&o)
	}
	t := &Transcoder{maxBody: o.maxBody, forward: newHeaderRules(o.forward), sse: o.sse, codec: json.New()}
	// Any and extensions in the backend's messages resolve against the
	// backend's own types, which the binary does not link.
	types := dynamicpb.NewTypes(files)
	t.codec.MarshalOptions.Resolver = types
	t.codec.UnmarshalOptions.Resolver = types
	// RangeFiles visits files in no fixed order: sort them, so that the
	// routes, and which of two conflicting methods an error names first,
	// do not change from run to run.
	var fds []protoreflect.FileDescriptor
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fd.Services().Len() > 0 {
			fds = append(fds, fd)
		}
		return true
	})
	slices.SortFunc(fds, func(a, b protoreflect.FileDescriptor) int { return strings.Compare(a.Path(), b.Path()) })
	for _, fd := range fds {
		svcs := fd.Services()
		for i := range svcs.Len() {
			if skipService(string(svcs.Get(i).FullName())) {
				continue
			}
			if err := t.addService(svcs.Get(i)); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

func (t *Transcoder) addService(sd protoreflect.ServiceDescriptor) error {
	methods := sd.Methods()
	for i := range methods.Len() {
		md := methods.Get(i)
		if md.IsStreamingClient() {
			continue
		}
		rule := httpRule(md)
		if rule == nil {
			continue
		}
		rules := append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...)
		for j, r := range rules {
			if j > 0 && len(r.GetAdditionalBindings()) > 0 {
				return fmt.Errorf("transcode: method %s: additional_bindings may not nest", md.FullName())
			}
			if j == 0 && r.GetPattern() == nil {
				continue // a rule holding only additional bindings
			}
			b, err := newBinding(t, md, r)
			if err != nil {
				return err
			}
			if err := t.insert(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// httpRule returns the google.api.http rule of md, or nil.
func httpRule(md protoreflect.MethodDescriptor) *annotations.HttpRule {
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok || opts == nil {
		return nil
	}
	if proto.HasExtension(opts, annotations.E_Http) {
		r, _ := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
		return r
	}
	if len(opts.ProtoReflect().GetUnknown()) == 0 {
		return nil
	}
	// Options parsed while the extension was not linked keep it as unknown
	// bytes: parse them again now that it is.
	data, err := proto.Marshal(opts)
	if err != nil {
		return nil
	}
	var again descriptorpb.MethodOptions
	if proto.Unmarshal(data, &again) != nil || !proto.HasExtension(&again, annotations.E_Http) {
		return nil
	}
	r, _ := proto.GetExtension(&again, annotations.E_Http).(*annotations.HttpRule)
	return r
}

// insert adds b's route; a conflict names both methods.
func (t *Transcoder) insert(b *Binding) error {
	if err := t.tree.Insert(b.verb, b.tpl, b); err != nil {
		for _, prev := range t.bindings {
			if prev.verb == b.verb && sameShape(prev.tpl, b.tpl) {
				return fmt.Errorf("transcode: route %s %s of %s conflicts with %s %s of %s",
					b.verb, b.pattern, b.method.FullName(), prev.verb, prev.pattern, prev.method.FullName())
			}
		}
		return fmt.Errorf("transcode: method %s: %w", b.method.FullName(), err)
	}
	t.bindings = append(t.bindings, b)
	return nil
}

// sameShape reports whether a and b match the same paths (the condition
// under which Tree.Insert refuses the second).
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

// Bindings returns the routes, in the order New found them (files by path,
// methods in declaration order, a rule before its additional bindings).
func (t *Transcoder) Bindings() []*Binding { return append([]*Binding(nil), t.bindings...) }

// Params are the raw values of a matched route's path variables, still
// escaped, in the order of the template's variables. Binding.Decode
// unescapes them.
type Params []string

// Match finds the route for an HTTP method and an escaped URL path (a
// request's URL.EscapedPath()), with the precedence of a Zelos HTTP server:
// literals over "*" over "**", and HEAD served by a GET route. It reports
// false when no route matches.
func (t *Transcoder) Match(method, path string) (*Binding, Params, bool) {
	e, vpath := t.tree.Match(method, path)
	if e == nil {
		return nil, nil, false
	}
	var p Params
	if len(e.Template.Variables) > 0 {
		p = e.Template.AppendValues(make(Params, 0, len(e.Template.Variables)), vpath)
	}
	return e.Value, p, true
}

// Allowed returns the HTTP methods of the routes whose template matches
// path (escaped), sorted, with HEAD where GET is; none when no route does.
// It is what a 405 reply's Allow header lists.
func (t *Transcoder) Allowed(path string) []string {
	ms := t.tree.Allowed(path, nil)
	out := ms[:0]
	for _, m := range ms {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

// verbOf returns the HTTP method and path of a rule.
func verbOf(r *annotations.HttpRule) (verb, path string, ok bool) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get, true
	case *annotations.HttpRule_Put:
		return "PUT", p.Put, true
	case *annotations.HttpRule_Post:
		return "POST", p.Post, true
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete, true
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch, true
	case *annotations.HttpRule_Custom:
		// "*" is any method, as for a Zelos server's routes.
		switch kind := strings.ToUpper(strings.TrimSpace(p.Custom.GetKind())); kind {
		case "":
			return "", "", false
		case "*":
			return "", p.Custom.GetPath(), true
		default:
			return kind, p.Custom.GetPath(), true
		}
	}
	return "", "", false
}
