package yaml_test

import (
	"strings"
	"testing"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/yaml"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/typepb"
)

func TestPlainValues(t *testing.T) {
	c := encoding.GetCodec("yaml")
	if c == nil || c.Name() != "yaml" {
		t.Fatalf("GetCodec(yaml) = %v", c)
	}
	type S struct {
		Name string   `yaml:"name"`
		Tags []string `yaml:"tags"`
	}
	b, err := c.Marshal(S{Name: "x", Tags: []string{"a"}})
	if err != nil || string(b) != "name: x\ntags:\n    - a\n" {
		t.Fatalf("Marshal = %q, %v", b, err)
	}
	var s S
	if err := c.Unmarshal(b, &s); err != nil || s.Name != "x" || len(s.Tags) != 1 {
		t.Errorf("Unmarshal = %+v, %v", s, err)
	}
	if err := c.Unmarshal([]byte("name: [unclosed"), &s); err == nil || !strings.HasPrefix(err.Error(), "yaml: unmarshal into *yaml_test.S: ") {
		t.Errorf("Unmarshal error = %v", err)
	}
	if _, err := c.Marshal(func() {}); err == nil || err.Error() != "yaml: marshal func(): cannot marshal type: func()" {
		t.Errorf("Marshal(func) error = %v", err)
	}
}

func TestProtoMessages(t *testing.T) {
	c := yaml.Codec{}
	in := &typepb.Type{
		Name: "T",
		Fields: []*typepb.Field{
			{Name: "id", Kind: typepb.Field_TYPE_INT64, Number: 1, JsonName: "id", DefaultValue: "123"},
		},
		Oneofs: []string{"true"},
	}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	// JSON field names, in field order, with strings that look like other
	// types quoted.
	want := `name: T
fields:
    - kind: TYPE_INT64
      number: 1
      name: id
      jsonName: id
      defaultValue: "123"
oneofs:
    - "true"
`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
	out := new(typepb.Type)
	if err := c.Unmarshal(b, out); err != nil || !proto.Equal(in, out) {
		t.Errorf("round trip = %v, %v", out, err)
	}

	// Proto names, enum numbers, unknown fields and YAML-only syntax.
	src := "name: T\nsource_context: {file_name: f.proto}\nsyntax: 1\nunknown: x\nfields:\n  - &f {name: a, number: 1}\n"
	out.Reset()
	if err := c.Unmarshal([]byte(src), out); err != nil {
		t.Fatal(err)
	}
	if out.GetSourceContext().GetFileName() != "f.proto" || out.GetSyntax() != typepb.Syntax_SYNTAX_PROTO3 || out.GetFields()[0].GetName() != "a" {
		t.Errorf("Unmarshal = %v", out)
	}

	// Well-known types keep their JSON forms.
	d := durationpb.New(1500e6)
	if b, err := c.Marshal(d); err != nil || string(b) != "1.500s\n" {
		t.Errorf("Marshal(Duration) = %q, %v", b, err)
	}
	st := new(structpb.Struct)
	if err := c.Unmarshal([]byte("when: 2024-05-01T10:00:00Z\ninf: .inf\n1: one\nnested: {2: two}\n"), st); err != nil {
		t.Fatal(err)
	}
	want2, _ := structpb.NewStruct(map[string]any{
		"when": "2024-05-01T10:00:00Z", "inf": "Infinity", "1": "one", "nested": map[string]any{"2": "two"},
	})
	if !proto.Equal(st, want2) {
		t.Errorf("Unmarshal(Struct) = %v", st)
	}
	// An empty document leaves the message alone.
	if err := c.Unmarshal(nil, out); err != nil || out.GetName() != "T" {
		t.Errorf("Unmarshal(empty) = %v, %v", out, err)
	}
}

func TestProtoErrors(t *testing.T) {
	c := yaml.Codec{}
	for _, in := range []string{"name: [", "number: abc", "? [a]\n: b", "- a"} {
		if err := c.Unmarshal([]byte(in), new(typepb.Field)); err == nil || !strings.HasPrefix(err.Error(), "yaml: invalid YAML for google.protobuf.Field: ") {
			t.Errorf("Unmarshal(%q) error = %v", in, err)
		}
	}
	if _, err := c.Marshal(&typepb.Field{Name: "\xff"}); err == nil || !strings.HasPrefix(err.Error(), "yaml: marshal *typepb.Field: ") {
		t.Errorf("Marshal(bad utf8) error = %v", err)
	}
}

func TestUnmarshalNilMessage(t *testing.T) {
	var m *typepb.Field // a nil message is an error, as in encoding/json, not a panic
	err := encoding.GetCodec("yaml").Unmarshal([]byte("name: id\n"), m)
	if err == nil || !strings.Contains(err.Error(), "nil *typepb.Field") {
		t.Errorf("Unmarshal into nil *typepb.Field: %v", err)
	}
}
