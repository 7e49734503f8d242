package json_test

import (
	"strings"
	"testing"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/json"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/typepb"
)

func TestRegistered(t *testing.T) {
	c := encoding.GetCodec("json")
	if c == nil || c.Name() != "json" {
		t.Fatalf("GetCodec(json) = %v", c)
	}
	// The registered codec has the package defaults.
	b, err := c.Marshal(&typepb.Field{Name: "id"})
	if err != nil {
		t.Fatal(err)
	}
	if got := compact(b); got != `{"kind":"TYPE_UNKNOWN","cardinality":"CARDINALITY_UNKNOWN","number":0,"name":"id","typeUrl":"","oneofIndex":0,"packed":false,"options":[],"jsonName":"","defaultValue":""}` {
		t.Errorf("Marshal = %s", got)
	}
}

// compact removes the random spaces protojson adds to discourage byte-exact
// comparisons.
func compact(b []byte) string { return strings.ReplaceAll(string(b), " ", "") }

func TestOptions(t *testing.T) {
	f := &typepb.Field{Name: "id", TypeUrl: "t", Kind: typepb.Field_TYPE_INT64}
	tests := []struct {
		codec *json.Codec
		want  string
	}{
		{json.New(json.EmitUnpopulated(false)), `{"kind":"TYPE_INT64","name":"id","typeUrl":"t"}`},
		{json.New(json.EmitUnpopulated(false), json.UseProtoNames(true)), `{"kind":"TYPE_INT64","name":"id","type_url":"t"}`},
		{json.New(json.EmitUnpopulated(false), json.UseEnumNumbers(true)), `{"kind":3,"name":"id","typeUrl":"t"}`},
		{&json.Codec{}, `{"kind":"TYPE_INT64","name":"id","typeUrl":"t"}`},
	}
	for _, tt := range tests {
		b, err := tt.codec.Marshal(f)
		if err != nil || compact(b) != tt.want {
			t.Errorf("Marshal = %s, %v; want %s", b, err, tt.want)
		}
	}
}

func TestUnmarshalProto(t *testing.T) {
	c := json.New()
	data := []byte(`{"name":"id","type_url":"t","kind":"TYPE_INT64","cardinality":1,"unknown":true}`)
	want := &typepb.Field{Name: "id", TypeUrl: "t", Kind: typepb.Field_TYPE_INT64, Cardinality: typepb.Field_CARDINALITY_OPTIONAL}

	var f typepb.Field
	if err := c.Unmarshal(data, &f); err != nil || !proto.Equal(&f, want) {
		t.Errorf("Unmarshal = %v, %v", &f, err)
	}
	var pf *typepb.Field // **Message is allocated
	if err := c.Unmarshal(data, &pf); err != nil || !proto.Equal(pf, want) {
		t.Errorf("Unmarshal(**Field) = %v, %v", pf, err)
	}

	strict := json.New(json.DiscardUnknown(false))
	err := strict.Unmarshal(data, &f)
	if err == nil || !strings.HasPrefix(err.Error(), `json: invalid JSON for google.protobuf.Field: `) || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("strict Unmarshal error = %v", err)
	}
	err = c.Unmarshal([]byte(`{"number":"x"}`), &f)
	if err == nil || !strings.HasPrefix(err.Error(), `json: invalid JSON for google.protobuf.Field: `) {
		t.Errorf("bad value error = %v", err)
	}
}

func TestPlainValues(t *testing.T) {
	c := json.New()
	type S struct {
		Name string `json:"name"`
		N    int    `json:"n,omitempty"`
	}
	b, err := c.Marshal(S{Name: "x"})
	if err != nil || string(b) != `{"name":"x"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var s S
	if err := c.Unmarshal([]byte(`{"name":"y","n":2}`), &s); err != nil || s != (S{"y", 2}) {
		t.Errorf("Unmarshal = %+v, %v", s, err)
	}
	if _, err := c.Marshal(make(chan int)); err == nil || err.Error() != "json: marshal chan int: json: unsupported type: chan int" {
		t.Errorf("Marshal(chan) error = %v", err)
	}
	if err := c.Unmarshal([]byte(`{"n":"x"}`), &s); err == nil || !strings.HasPrefix(err.Error(), "json: unmarshal into *json_test.S: ") {
		t.Errorf("Unmarshal error = %v", err)
	}
	if err := c.Unmarshal([]byte(`{}`), s); err == nil {
		t.Error("Unmarshal into a non-pointer: want an error")
	}
	// Only top-level messages use protojson.
	b, err = c.Marshal(map[string]any{"v": 1})
	if err != nil || string(b) != `{"v":1}` {
		t.Errorf("Marshal(map) = %s, %v", b, err)
	}
}

func TestRoundTripWellKnown(t *testing.T) {
	c := json.New()
	in, err := structpb.NewStruct(map[string]any{"a": 1.5, "b": []any{"x", true, nil}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := new(structpb.Struct)
	if err := c.Unmarshal(b, out); err != nil || !proto.Equal(in, out) {
		t.Errorf("round trip: %v, %v", out, err)
	}
}

// FuzzJSONUnmarshal feeds arbitrary bytes to the codec. Whatever unmarshals
// must marshal and unmarshal again to an equal message.
func FuzzJSONUnmarshal(f *testing.F) {
	for _, seed := range []string{
		`{"name":"t","fields":[{"kind":"TYPE_INT64","name":"id","number":1,"options":[{"name":"o"}]}],"oneofs":["x"],"syntax":"SYNTAX_PROTO3"}`,
		`{"sourceContext":{"fileName":"f"},"options":[{"name":"n","value":{"@type":"type.googleapis.com/google.protobuf.Int32Value","value":3}}]}`,
		`{"fields":[{"cardinality":3,"packed":true,"defaultValue":"\u00e9"}]}`,
		`null`, `[]`, `{"name":1}`,
	} {
		f.Add([]byte(seed))
	}
	c := json.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		var m typepb.Type
		if c.Unmarshal(data, &m) != nil {
			return
		}
		b, err := c.Marshal(&m)
		if err != nil {
			t.Fatalf("%q unmarshaled but does not marshal: %v", data, err)
		}
		var back typepb.Type
		if err := c.Unmarshal(b, &back); err != nil || !proto.Equal(&m, &back) {
			t.Fatalf("%q: round trip through %s: %v", data, b, err)
		}
	})
}

type reply struct {
	ID    int64    `json:"id"`
	Name  string   `json:"name"`
	Tags  []string `json:"tags"`
	Score float64  `json:"score"`
}

func BenchmarkMarshalStruct(b *testing.B) {
	b.ReportAllocs()
	c := json.New()
	v := &reply{ID: 42, Name: "zelos", Tags: []string{"a", "b"}, Score: 0.5}
	for b.Loop() {
		if _, err := c.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalProto(b *testing.B) {
	b.ReportAllocs()
	c := json.New()
	v := &typepb.Field{Name: "id", Number: 1, Kind: typepb.Field_TYPE_INT64, JsonName: "id"}
	for b.Loop() {
		if _, err := c.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUnmarshalNilMessage(t *testing.T) {
	var m *typepb.Field // a nil message is an error, as in encoding/json, not a panic
	err := encoding.GetCodec("json").Unmarshal([]byte(`{"name":"id"}`), m)
	if err == nil || !strings.Contains(err.Error(), "nil *typepb.Field") {
		t.Errorf("Unmarshal into nil *typepb.Field: %v", err)
	}
}
