package transcode_test

import (
	"context"
	stderrors "errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/gateway/transcode"
)

// method is an RPC of the hand-built test file: a name, its rule, whether
// it streams.
type method struct {
	name            string
	rule            *annotations.HttpRule
	clientStreaming bool
	serverStreaming bool
}

// ruleFiles builds a file x.proto, package x, with message Req { string
// name = 1; int64 id = 2; Sub sub = 3; repeated string tags = 4; oneof o {
// string a = 5; } double score = 6; } and Sub { string s = 1; }, and a
// service S of methods Req -> Req.
func ruleFiles(t *testing.T, methods ...method) *protoregistry.Files {
	t.Helper()
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, label *descriptorpb.FieldDescriptorProto_Label) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(), Label: label, JsonName: proto.String(jsonName(name))}
	}
	sub := field("sub", 3, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, opt)
	sub.TypeName = proto.String(".x.Sub")
	a := field("a", 5, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt)
	a.OneofIndex = proto.Int32(0)
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("x.proto"),
		Package: proto.String("x"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{
				Name: proto.String("Req"),
				Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("name"), Number: proto.Int32(1), Type: str, Label: opt, JsonName: proto.String("name")},
					field("id", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64, opt),
					sub,
					field("tags", 4, descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()),
					a,
					field("score", 6, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, opt),
				},
				OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("o")}},
			},
			{Name: proto.String("Sub"), Field: []*descriptorpb.FieldDescriptorProto{field("s", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt)}},
		},
	}
	svc := &descriptorpb.ServiceDescriptorProto{Name: proto.String("S")}
	for _, m := range methods {
		opts := &descriptorpb.MethodOptions{}
		if m.rule != nil {
			proto.SetExtension(opts, annotations.E_Http, m.rule)
		}
		svc.Method = append(svc.Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(m.name), InputType: proto.String(".x.Req"), OutputType: proto.String(".x.Req"), Options: opts,
			ClientStreaming: proto.Bool(m.clientStreaming), ServerStreaming: proto.Bool(m.serverStreaming),
		})
	}
	fdp.Service = []*descriptorpb.ServiceDescriptorProto{svc}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fdp}})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func jsonName(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

func getRule(path string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: path}}
}

// TestNewErrors checks that rules that do not fit their method, and routes
// that collide, are refused with the method named.
func TestNewErrors(t *testing.T) {
	post := func(path, body string) *annotations.HttpRule {
		return &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: path}, Body: body}
	}
	cases := []struct {
		name    string
		methods []method
		want    string
	}{
		{"variable names no field", []method{{name: "A", rule: getRule("/v1/{nope}")}}, `x.S.A: path "/v1/{nope}": variable {nope}: no field "nope" in x.Req`},
		{"variable is a message", []method{{name: "A", rule: getRule("/v1/{sub}")}}, "field x.Req.sub is not a scalar"},
		{"variable is repeated", []method{{name: "A", rule: getRule("/v1/{tags}")}}, "field x.Req.tags is not a scalar"},
		{"variable through a scalar", []method{{name: "A", rule: getRule("/v1/{name.x}")}}, "x.Req.name is not a message"},
		{"nested variable names no field", []method{{name: "A", rule: getRule("/v1/{sub.nope}")}}, `no field "nope" in x.Sub`},
		{"multi-segment int", []method{{name: "A", rule: getRule("/v1/{id=a/*}")}}, "a multi-segment variable needs a string field"},
		{"bad template", []method{{name: "A", rule: getRule("v1/x")}}, `x.S.A: invalid path template "v1/x"`},
		{"body names no field", []method{{name: "A", rule: post("/v1/a", "nope")}}, `body "nope": no field "nope" in x.Req`},
		{"body in a oneof", []method{{name: "A", rule: post("/v1/a", "a")}}, "field x.Req.a is in oneof o"},
		{"response_body names no field", []method{{name: "A", rule: &annotations.HttpRule{
			Pattern: &annotations.HttpRule_Get{Get: "/v1/a"}, ResponseBody: "nope"}}}, `response_body "nope": no field`},
		{"no pattern", []method{{name: "A", rule: &annotations.HttpRule{Body: "*", AdditionalBindings: []*annotations.HttpRule{{Body: "*"}}}}},
			"HTTP rule has no method and path"},
		{"custom without kind", []method{{name: "A", rule: &annotations.HttpRule{
			Pattern: &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Path: "/v1/a"}}}}}, "HTTP rule has no method and path"},
		{"nested additional bindings", []method{{name: "A", rule: &annotations.HttpRule{
			Pattern:            &annotations.HttpRule_Get{Get: "/v1/a"},
			AdditionalBindings: []*annotations.HttpRule{{Pattern: &annotations.HttpRule_Get{Get: "/v1/b"}, AdditionalBindings: []*annotations.HttpRule{getRule("/v1/c")}}},
		}}}, "additional_bindings may not nest"},
		{"conflict", []method{{name: "A", rule: getRule("/v1/x/{name}")}, {name: "B", rule: getRule("/v1/x/{id}")}},
			"transcode: route GET /v1/x/{id} of x.S.B conflicts with GET /v1/x/{name} of x.S.A"},
		{"conflict within a method", []method{{name: "A", rule: &annotations.HttpRule{
			Pattern: &annotations.HttpRule_Get{Get: "/v1/x"}, AdditionalBindings: []*annotations.HttpRule{getRule("/v1/x")},
		}}}, "route GET /v1/x of x.S.A conflicts with GET /v1/x of x.S.A"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := transcode.New(ruleFiles(t, tc.methods...))
			if err == nil || !strings.HasPrefix(err.Error(), "transcode: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestNewRoutes checks which methods get routes.
func TestNewRoutes(t *testing.T) {
	files := ruleFiles(t,
		method{name: "Plain"},
		method{name: "Upload", rule: &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/up"}, Body: "*"}, clientStreaming: true},
		method{name: "Chat", rule: getRule("/v1/chat"), clientStreaming: true, serverStreaming: true},
		method{name: "Watch", rule: getRule("/v1/watch"), serverStreaming: true},
		method{name: "OnlyExtra", rule: &annotations.HttpRule{AdditionalBindings: []*annotations.HttpRule{getRule("/v1/extra/{name}")}}},
		method{name: "Custom", rule: &annotations.HttpRule{Pattern: &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Kind: "search", Path: "/v1/s"}}}},
		method{name: "Any", rule: &annotations.HttpRule{Pattern: &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Kind: "*", Path: "/v1/any"}}}},
	)
	tc := newWithRoutes(t, files, []string{
		"GET /v1/watch -> /x.S/Watch", "GET /v1/extra/{name} -> /x.S/OnlyExtra", "SEARCH /v1/s -> /x.S/Custom", " /v1/any -> /x.S/Any",
	})
	if _, _, ok := tc.Match("SEARCH", "/v1/s"); !ok {
		t.Fatal("custom method not matched")
	}
	if b, _, ok := tc.Match("DELETE", "/v1/any"); !ok || b.HTTPMethod() != "" {
		t.Fatal("any-method route not matched")
	}
	if got := tc.Allowed("/v1/any"); len(got) != 0 {
		t.Fatalf("Allowed = %v, want none for an any-method route", got)
	}

	t.Run("order", func(t *testing.T) {
		// Two files: routes come by file path, the same on every run.
		files := ruleFiles(t, method{name: "A", rule: getRule("/x/a")})
		api := apiFiles(t)
		api.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			if err := files.RegisterFile(fd); err != nil {
				t.Fatal(err)
			}
			return true
		})
		want := append(append([]string{}, wantRoutes...), "GET /x/a -> /x.S/A")
		for range 20 {
			newWithRoutes(t, files, want)
		}
	})
}

// TestDecodeEncode exercises Decode and Encode on fields the test API has
// no route for: scalar and repeated body and response_body fields.
func TestDecodeEncode(t *testing.T) {
	files := ruleFiles(t,
		method{name: "Name", rule: &annotations.HttpRule{Pattern: &annotations.HttpRule_Put{Put: "/v1/name/{id}"}, Body: "name", ResponseBody: "id"}},
		method{name: "Tags", rule: &annotations.HttpRule{Pattern: &annotations.HttpRule_Put{Put: "/v1/tags/{score}"}, Body: "tags", ResponseBody: "tags"}},
		method{name: "Sub", rule: &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/sub/{sub.s=a/**}"}, Body: "sub", ResponseBody: "sub"}},
		method{name: "Raw", rule: getRule("/v1/raw/{name}")},
	)
	tc, err := transcode.New(files, transcode.MaxBodySize(-1))
	if err != nil {
		t.Fatal(err)
	}
	decode := func(t *testing.T, method, path, ct, body string) (proto.Message, error) {
		t.Helper()
		b, p, ok := tc.Match(method, path)
		if !ok {
			t.Fatalf("no route for %s %s", method, path)
		}
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return b.Decode(r, p)
	}
	field := func(m proto.Message, name string) protoreflect.Value {
		r := m.ProtoReflect()
		return r.Get(r.Descriptor().Fields().ByName(protoreflect.Name(name)))
	}
	t.Run("scalar body field", func(t *testing.T) {
		m, err := decode(t, "PUT", "/v1/name/5", "", `"hello"`)
		if err != nil || field(m, "name").String() != "hello" || field(m, "id").Int() != 5 {
			t.Fatalf("Decode = %v, %v", m, err)
		}
		for _, body := range []string{`"a" "b"`, `"x"}, {"id":"1"`, `1`, `{`} {
			if _, err := decode(t, "PUT", "/v1/name/5", "", body); errors.Reason(err) != "BAD_REQUEST_BODY" {
				t.Errorf("body %s: err = %v", body, err)
			}
		}
		if _, err := decode(t, "PUT", "/v1/name/5", "application/x-protobuf", "x"); errors.Code(err) != 415 {
			t.Errorf("a proto body for a string field: err = %v", err)
		}
	})
	t.Run("repeated body field", func(t *testing.T) {
		m, err := decode(t, "PUT", "/v1/tags/1.5", "", `["a","b"]`)
		if err != nil || field(m, "tags").List().Len() != 2 || field(m, "score").Float() != 1.5 {
			t.Fatalf("Decode = %v, %v", m, err)
		}
		if _, err := decode(t, "PUT", "/v1/tags/x", "", `[]`); errors.Reason(err) != "INVALID_PATH" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("message body field with a ** variable", func(t *testing.T) {
		m, err := decode(t, "POST", "/v1/sub/a/b/c", "", `{"s":"body"}`)
		if err != nil || field(field(m, "sub").Message().Interface(), "s").String() != "a/b/c" {
			t.Fatalf("Decode = %v, %v (the path must win over the body)", m, err)
		}
	})
	t.Run("bad escape kept raw", func(t *testing.T) {
		// The path came from a request line net/http parsed leniently.
		b, p, _ := tc.Match("GET", "/v1/raw/%zz")
		m, err := b.Decode(httptest.NewRequest("GET", "/v1/raw/x", nil), p)
		if err != nil || field(m, "name").String() != "%zz" {
			t.Fatalf("Decode = %v, %v", m, err)
		}
	})
	t.Run("wrong params", func(t *testing.T) {
		b, _, _ := tc.Match("GET", "/v1/raw/x")
		if _, err := b.Decode(httptest.NewRequest("GET", "/v1/raw/x", nil), nil); err == nil {
			t.Fatal("Decode with no params for a variable succeeded")
		}
	})
	t.Run("body read errors", func(t *testing.T) {
		b, p, _ := tc.Match("PUT", "/v1/name/5")
		cases := []struct {
			body   io.Reader
			reason string
		}{
			{io.MultiReader(strings.NewReader(`"x`), errReader{stderrors.New("boom")}), "BAD_REQUEST_BODY"},
			{errReader{errors.New(408, "BODY_TIMEOUT", "slow")}, "BODY_TIMEOUT"},
			{http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(`"xxxxxxxx"`)), 3), "BODY_TOO_LARGE"},
		}
		for _, c := range cases {
			r := httptest.NewRequest("PUT", "/v1/name/5", c.body)
			if _, err := b.Decode(r, p); errors.Reason(err) != c.reason {
				t.Errorf("err = %v, want %s", err, c.reason)
			}
		}
	})
	t.Run("Encode response_body", func(t *testing.T) {
		md, err := files.FindDescriptorByName("x.Req")
		if err != nil {
			t.Fatal(err)
		}
		reply := dynamicpb.NewMessage(md.(protoreflect.MessageDescriptor))
		fields := reply.Descriptor().Fields()
		reply.Set(fields.ByName("id"), protoreflect.ValueOfInt64(7))
		reply.Mutable(fields.ByName("tags")).List().Append(protoreflect.ValueOfString("t1"))
		for _, c := range []struct{ method, path, want string }{
			{"PUT", "/v1/name/1", `"7"`},
			{"PUT", "/v1/tags/1", `["t1"]`},
			{"POST", "/v1/sub/a", `{"s":""}`},
			{"GET", "/v1/raw/x", `"id":"7"`},
		} {
			b, _, _ := tc.Match(c.method, c.path)
			rec := httptest.NewRecorder()
			if err := b.Encode(rec, httptest.NewRequest(c.method, c.path, nil), reply); err != nil {
				t.Fatal(err)
			}
			if got := squash(rec.Body.Bytes()); !strings.Contains(got, c.want) || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%s: reply %s %q, want %s", c.path, rec.Header().Get("Content-Type"), got, c.want)
			}
		}
		rec := httptest.NewRecorder()
		b, _, _ := tc.Match("GET", "/v1/raw/x")
		if err := b.Encode(rec, httptest.NewRequest("GET", "/v1/raw/x", nil), nil); err != nil || !strings.Contains(squash(rec.Body.Bytes()), `"id":"0"`) {
			t.Errorf("Encode(nil) = %v, body %q", err, rec.Body)
		}
		bad := dynamicpb.NewMessage(md.(protoreflect.MessageDescriptor))
		bad.Set(fields.ByName("name"), protoreflect.ValueOfString("\xff"))
		rec = httptest.NewRecorder()
		if err := b.Encode(rec, httptest.NewRequest("GET", "/v1/raw/x", nil), bad); errors.Reason(err) != "ENCODE_REPLY" || rec.Body.Len() != 0 {
			t.Errorf("Encode of invalid UTF-8 = %v, body %q", err, rec.Body)
		}
	})
	t.Run("Invoke error", func(t *testing.T) {
		b, _, _ := tc.Match("GET", "/v1/raw/x")
		m, _ := b.Decode(httptest.NewRequest("GET", "/v1/raw/x", nil), transcode.Params{"x"})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := b.Invoke(ctx, failConn{stderrors.New("no")}, m); errors.Code(err) != 500 {
			t.Errorf("a plain error: %v", err)
		}
		if _, err := b.Invoke(ctx, failConn{context.Canceled}, m); errors.Code(err) != 499 {
			t.Errorf("a canceled call: %v", err)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// failConn is a connection whose calls fail with err.
type failConn struct{ err error }

func (c failConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return c.err }

func (c failConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, c.err
}
