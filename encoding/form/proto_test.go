package form_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/encoding/form"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// msgFromJSON builds the expected message from its protojson form.
func msgFromJSON(t *testing.T, js string) *dynamicpb.Message {
	t.Helper()
	m := newMsg()
	if err := protojson.Unmarshal([]byte(js), m); err != nil {
		t.Fatalf("bad expected JSON %s: %v", js, err)
	}
	return m
}

func mustParse(t *testing.T, query string) url.Values {
	t.Helper()
	vals, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", query, err)
	}
	return vals
}

func TestDecodeProto(t *testing.T) {
	tests := []struct {
		name, query, want string
	}{
		{"proto name", "page_size=20", `{"pageSize": 20}`},
		{"json name", "pageSize=20", `{"pageSize": 20}`},
		{"proto name wins over json name (sorted keys)", "pageSize=1&page_size=2", `{"pageSize": 2}`},
		{"first value of a singular field", "name=a&name=b", `{"name": "a"}`},
		{"string", "name=hello+world%21", `{"name": "hello world!"}`},
		{"empty string", "name=", `{}`},
		{"int64", "i64=-9223372036854775808", `{"i64": "-9223372036854775808"}`},
		{"uint32", "u32=4294967295", `{"u32": 4294967295}`},
		{"uint64", "u64=18446744073709551615", `{"u64": "18446744073709551615"}`},
		{"sint32", "s32=-5", `{"s32": -5}`},
		{"sint64", "s64=-5", `{"s64": "-5"}`},
		{"fixed32", "f32=5", `{"f32": 5}`},
		{"fixed64", "f64=5", `{"f64": "5"}`},
		{"sfixed32", "sf32=-5", `{"sf32": -5}`},
		{"sfixed64", "sf64=-5", `{"sf64": "-5"}`},
		{"float", "fl=1.5", `{"fl": 1.5}`},
		{"double", "db=-2.25e10", `{"db": -2.25e10}`},
		{"double infinity", "db=-Infinity", `{"db": "-Infinity"}`},
		{"bool true", "flag=true", `{"flag": true}`},
		{"bool 1", "flag=1", `{"flag": true}`},
		{"bool on", "flag=on", `{"flag": true}`},
		{"bool T", "flag=T", `{"flag": true}`},
		{"empty bool is skipped", "flag=", `{}`},
		{"empty int is skipped", "page_size=", `{}`},
		{"bytes std padded", "data=" + url.QueryEscape("+/8="), `{"data": "+/8="}`},
		{"bytes std raw", "data=" + url.QueryEscape("+/8"), `{"data": "+/8="}`},
		{"bytes url raw", "data=-_8", `{"data": "+/8="}`},
		{"bytes url padded", "data=-_8%3D", `{"data": "+/8="}`},
		{"enum by name", "color=GREEN", `{"color": "GREEN"}`},
		{"enum by number", "color=2", `{"color": "GREEN"}`},
		{"open enum unknown number", "color=7", `{"color": 7}`},
		{"nested", "inner.name=x&inner.child.count=3", `{"inner": {"name": "x", "child": {"count": 3}}}`},
		{"nested json names", "inner.child.color=RED", `{"inner": {"child": {"color": "RED"}}}`},
		{"repeated int", "ids=3&ids=1&ids=2", `{"ids": [3, 1, 2]}`},
		{"repeated skips empty ints", "ids=1&ids=&ids=2", `{"ids": [1, 2]}`},
		{"repeated keeps empty strings", "tags=a&tags=", `{"tags": ["a", ""]}`},
		{"repeated enum", "colors=RED&colors=2", `{"colors": ["RED", "GREEN"]}`},
		{"repeated timestamp", "times=2020-01-01T00:00:00Z&times=2021-01-01T00:00:00Z", `{"times": ["2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"]}`},
		{"repeated duration", "durations=1s&durations=2m", `{"durations": ["1s", "120s"]}`},
		{"map string", "labels[env]=prod&labels[a.b]=c", `{"labels": {"env": "prod", "a.b": "c"}}`},
		{"map message value", "items[3].name=x&items[3].count=2&items[4].color=RED", `{"items": {"3": {"name": "x", "count": 2}, "4": {"color": "RED"}}}`},
		{"map WKT value", "deadlines[x]=2021-01-01T00:00:00Z", `{"deadlines": {"x": "2021-01-01T00:00:00Z"}}`},
		{"map bool key", "flags[true]=9&flags[0]=1", `{"flags": {"true": "9", "false": "1"}}`},
		{"map key with brackets", "labels[a]b]=c", `{"labels": {"a]b": "c"}}`},
		{"timestamp", "create_time=2024-05-01T10:00:00.5%2B02:00", `{"createTime": "2024-05-01T08:00:00.500Z"}`},
		{"timestamp json name", "createTime=2024-05-01T10:00:00Z", `{"createTime": "2024-05-01T10:00:00Z"}`},
		{"timestamp fields", "createTime.seconds=1&createTime.nanos=2", `{"createTime": "1970-01-01T00:00:01.000000002Z"}`},
		{"empty timestamp is skipped", "create_time=", `{}`},
		{"duration proto form", "ttl=1.5s", `{"ttl": "1.5s"}`},
		{"duration negative", "ttl=-0.25s", `{"ttl": "-0.25s"}`},
		{"duration go form", "ttl=1m30s", `{"ttl": "90s"}`},
		{"duration nanos", "ttl=1.000000001s", `{"ttl": "1.000000001s"}`},
		{"int64 wrapper", "max=7", `{"max": "7"}`},
		{"int64 wrapper zero", "max=0", `{"max": "0"}`},
		{"string wrapper", "nick=bob", `{"nick": "bob"}`},
		{"string wrapper empty", "nick=", `{"nick": ""}`},
		{"bool wrapper", "enabled=false", `{"enabled": false}`},
		{"bytes wrapper", "blob=AQI", `{"blob": "AQI="}`},
		{"double wrapper", "ratio=0.5", `{"ratio": 0.5}`},
		{"field mask json paths", "update_mask=displayName,inner.childCount", `{"updateMask": "displayName,inner.childCount"}`},
		{"field mask proto paths", "updateMask=display_name,x", `{"updateMask": "displayName,x"}`},
		{"field mask takes the first value", "updateMask=a&updateMask=b", `{"updateMask": "a"}`},
		{"field mask empty", "updateMask=", `{"updateMask": ""}`},
		{"struct", `attrs={"a":1,"b":[true,null]}`, `{"attrs": {"a": 1, "b": [true, null]}}`},
		{"value json", "anyValue=12", `{"anyValue": 12}`},
		{"value json string", `anyValue="x"`, `{"anyValue": "x"}`},
		{"value text", "anyValue=hello", `{"anyValue": "hello"}`},
		{"list value", "list=[1,\"a\"]", `{"list": [1, "a"]}`},
		{"empty message", "nothing=", `{"nothing": {}}`},
		{"oneof", "number=5", `{"number": 5}`},
		{"oneof last sorted key wins", "number=5&text=x", `{"text": "x"}`},
		{"oneof message", "nested.name=x", `{"nested": {"name": "x"}}`},
		{"proto3 optional zero", "opt=0", `{"opt": 0}`},
		{"unknown keys are ignored", "nope=1&inner.nope=2&name.=3&.x=4&labels[x=5&inner.child.nope=6", `{}`},
		{"unknown nested key leaves parent unset", "inner.child.nope=1", `{}`},
		{"recursive message", "self.self.name=deep", `{"self": {"self": {"name": "deep"}}}`},
		{"empty values list", "", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newMsg()
			if err := form.DecodeValues(got, mustParse(t, tt.query)); err != nil {
				t.Fatalf("DecodeValues(%q): %v", tt.query, err)
			}
			if want := msgFromJSON(t, tt.want); !proto.Equal(got, want) {
				t.Errorf("DecodeValues(%q)\n got %v\nwant %v", tt.query, protojson.Format(got), protojson.Format(want))
			}
		})
	}
}

func TestDecodeProtoErrors(t *testing.T) {
	tests := []struct {
		query, want string
	}{
		{"page_size=abc", `form: field "page_size": invalid value "abc" for int32`},
		{"pageSize=99999999999", `form: field "pageSize": invalid value "99999999999" for int32`},
		{"u32=-1", `form: field "u32": invalid value "-1" for uint32`},
		{"i64=1.5", `form: field "i64": invalid value "1.5" for int64`},
		{"fl=1e40", `form: field "fl": invalid value "1e40" for float`},
		{"db=x", `form: field "db": invalid value "x" for double`},
		{"flag=maybe", `form: field "flag": invalid value "maybe" for bool`},
		{"color=PURPLE", `form: field "color": invalid value "PURPLE" for enum zelos.form.test.Color`},
		{"colors=RED&colors=nope", `form: field "colors": invalid value "nope" for enum zelos.form.test.Color`},
		{"data=%21%21", `form: field "data": invalid value "!!" for bytes`},
		{"name=%FF", `form: field "name": invalid value "\xff" for string`},
		{"ids=1&ids=x", `form: field "ids": invalid value "x" for int32`},
		{"inner.count=x", `form: field "inner.count": invalid value "x" for int32`},
		{"create_time=yesterday", `form: field "create_time": invalid value "yesterday" for google.protobuf.Timestamp`},
		{"create_time=2024-05-01", `form: field "create_time": invalid value "2024-05-01" for google.protobuf.Timestamp`},
		{"times=2020-01-01T00:00:00Z&times=x", `form: field "times": invalid value "x" for google.protobuf.Timestamp`},
		{"ttl=soon", `form: field "ttl": invalid value "soon" for google.protobuf.Duration`},
		{"ttl=400000000000s", `form: field "ttl": invalid value "400000000000s" for google.protobuf.Duration`},
		{"max=x", `form: field "max": invalid value "x" for google.protobuf.Int64Value`},
		{"enabled=x", `form: field "enabled": invalid value "x" for google.protobuf.BoolValue`},
		{"attrs=[1]", `form: field "attrs": invalid value "[1]" for google.protobuf.Struct`},
		{"inner=x", `form: field "inner": cannot set message zelos.form.test.Inner from a single value; set its fields as "inner.field"`},
		{"labels=x", `form: field "labels": map field "labels" needs a key, as in "labels[key]"`},
		{"items[x].name=y", `form: field "items[x].name": invalid map key "x" for int32`},
		{"items[1]=y", `form: field "items[1]": cannot set message zelos.form.test.Inner from a single value; set its fields as "items[1].field"`},
		{"name[x]=y", `form: field "name[x]": "name" is not a map field`},
		{"inner[x].name=y", `form: field "inner[x].name": "inner" is not a map field`},
		{"inners.name=x", `form: field "inners.name": cannot address into repeated field "inners"`},
		{"labels[a].b=x", `form: field "labels[a].b": values of map field "labels" are not messages`},
		{"page_size.x=1", `form: field "page_size.x": int32 field "page_size" has no subfields`},
		{"labels[x]=%FF", `form: field "labels[x]": invalid value "\xff" for string`},
		{"name=" + strings.Repeat("%FF", 70), `form: field "name": invalid value "` + strings.Repeat(`\xff`, 64) + `..." for string`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			err := form.DecodeValues(newMsg(), mustParse(t, tt.query))
			if err == nil || err.Error() != tt.want {
				t.Errorf("DecodeValues(%q) error\n got %v\nwant %s", tt.query, err, tt.want)
			}
		})
	}
}

func TestDecodeProtoMerges(t *testing.T) {
	m := msgFromJSON(t, `{"name": "keep", "pageSize": 1, "ids": [1]}`)
	if err := form.DecodeValues(m, url.Values{"page_size": {"2"}, "ids": {"2"}}); err != nil {
		t.Fatal(err)
	}
	want := msgFromJSON(t, `{"name": "keep", "pageSize": 2, "ids": [1, 2]}`)
	if !proto.Equal(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
}

func TestDecodeGeneratedMessages(t *testing.T) {
	// descriptorpb is proto2: closed enums, and strings not checked for UTF-8.
	var fd descriptorpb.FieldDescriptorProto
	err := form.DecodeValues(&fd, url.Values{
		"name": {"f\xff"}, "number": {"3"}, "label": {"LABEL_REPEATED"}, "type": {"9"},
		"json_name": {"fooBar"}, "options.packed": {"true"}, "proto3Optional": {"1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &descriptorpb.FieldDescriptorProto{
		Name: proto.String("f\xff"), Number: proto.Int32(3),
		Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
		JsonName: proto.String("fooBar"), Options: &descriptorpb.FieldOptions{Packed: proto.Bool(true)}, Proto3Optional: proto.Bool(true),
	}
	if !proto.Equal(&fd, want) {
		t.Errorf("got %v, want %v", &fd, want)
	}

	err = form.DecodeValues(&fd, url.Values{"label": {"99"}})
	if want := `form: field "label": invalid value "99" for enum google.protobuf.FieldDescriptorProto.Label`; err == nil || err.Error() != want {
		t.Errorf("closed enum: got %v, want %s", err, want)
	}

	// Well-known types as top-level targets, and **Message targets.
	var fm *fieldmaskpb.FieldMask
	if err := form.DecodeValues(&fm, url.Values{"paths": {"a", "b_c"}}); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(fm, &fieldmaskpb.FieldMask{Paths: []string{"a", "b_c"}}) {
		t.Errorf("got %v", fm)
	}
	ts := &timestamppb.Timestamp{}
	if err := form.DecodeValues(ts, url.Values{"seconds": {"5"}}); err != nil || ts.Seconds != 5 {
		t.Errorf("got %v, %v", ts, err)
	}
	var nilMsg *wrapperspb.StringValue
	if err := form.DecodeValues(nilMsg, url.Values{"value": {"x"}}); err == nil {
		t.Error("decoding into a nil message: want an error")
	}
}

func TestEncodeProto(t *testing.T) {
	m := msgFromJSON(t, `{
		"name": "a b", "pageSize": 0, "i64": "-3", "fl": 1.5, "db": "NaN", "flag": true, "data": "+/8=",
		"color": "GREEN", "colors": ["RED", 9], "ids": [3, 1], "tags": ["x", ""],
		"inner": {"name": "n", "child": {"count": 2}},
		"labels": {"b": "2", "a.b": "1"}, "items": {"7": {"color": "RED"}}, "flags": {"true": "1"},
		"createTime": "2024-05-01T08:00:00.500Z", "ttl": "-1.5s", "max": "0", "nick": "", "enabled": false,
		"blob": "", "updateMask": "displayName,a.bC", "attrs": {"k": "v"}, "anyValue": "s", "list": [1],
		"nothing": {}, "times": ["2020-01-01T00:00:00Z"], "durations": ["0.000001s"], "number": 0, "opt": 0,
		"deadlines": {"d": "2021-01-01T00:00:00Z"}, "inners": [{"name": "skipped"}]
	}`)
	got, err := form.EncodeValues(m)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"name": {"a b"}, "i64": {"-3"}, "fl": {"1.5"}, "db": {"NaN"}, "flag": {"true"}, "data": {"-_8"},
		"color": {"GREEN"}, "colors": {"RED", "9"}, "ids": {"3", "1"}, "tags": {"x", ""},
		"inner.name": {"n"}, "inner.child.count": {"2"},
		"labels[b]": {"2"}, "labels[a.b]": {"1"}, "items[7].color": {"RED"}, "flags[true]": {"1"},
		"createTime": {"2024-05-01T08:00:00.5Z"}, "ttl": {"-1.500s"}, "max": {"0"}, "nick": {""}, "enabled": {"false"},
		"blob": {""}, "updateMask": {"displayName,a.bC"}, "attrs": {`{"k":"v"}`}, "anyValue": {`"s"`}, "list": {"[1]"},
		"nothing": {""}, "times": {"2020-01-01T00:00:00Z"}, "durations": {"0.000001s"}, "number": {"0"}, "opt": {"0"},
		"deadlines[d]": {"2021-01-01T00:00:00Z"},
	}
	// protojson may add a space after ':' or ','; compare JSON values compactly.
	for _, k := range []string{"attrs", "anyValue", "list"} {
		got[k] = []string{strings.ReplaceAll(got.Get(k), " ", "")}
	}
	if got.Encode() != want.Encode() {
		t.Errorf("EncodeValues\n got %s\nwant %s", got.Encode(), want.Encode())
	}

	// Decoding the encoding gives the message back, except for the repeated
	// message field, which has no form representation.
	back := newMsg()
	if err := form.DecodeValues(back, got); err != nil {
		t.Fatal(err)
	}
	m.Clear(m.Descriptor().Fields().ByName("inners"))
	if !proto.Equal(back, m) {
		t.Errorf("round trip\n got %v\nwant %v", protojson.Format(back), protojson.Format(m))
	}
}

func TestEncodeProtoOutOfRangeWKT(t *testing.T) {
	// Values without a single-value form are written field by field.
	m := msgFromJSON(t, `{"createTime": "2024-01-01T00:00:00Z", "ttl": "1s", "updateMask": "a"}`)
	ct := m.Mutable(m.Descriptor().Fields().ByName("create_time")).Message()
	ct.Set(ct.Descriptor().Fields().ByName("nanos"), protoreflectInt32(-1))
	ttl := m.Mutable(m.Descriptor().Fields().ByName("ttl")).Message()
	ttl.Set(ttl.Descriptor().Fields().ByName("nanos"), protoreflectInt32(-5))
	um := m.Mutable(m.Descriptor().Fields().ByName("update_mask")).Message()
	um.Mutable(um.Descriptor().Fields().ByName("paths")).List().Append(protoreflectString("notSnake"))

	got, err := form.EncodeValues(m)
	if err != nil {
		t.Fatal(err)
	}
	want := "createTime.nanos=-1&createTime.seconds=1704067200&ttl.nanos=-5&ttl.seconds=1&updateMask.paths=a&updateMask.paths=notSnake"
	if got.Encode() != want {
		t.Errorf("got  %s\nwant %s", got.Encode(), want)
	}
	back := newMsg()
	if err := form.DecodeValues(back, got); err != nil || !proto.Equal(back, m) {
		t.Errorf("round trip: %v, %v", back, err)
	}
}

func TestEncodeGenerated(t *testing.T) {
	fd := &descriptorpb.FieldDescriptorProto{
		Name: proto.String("f"), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		Options: &descriptorpb.FieldOptions{Deprecated: proto.Bool(false)},
	}
	got, err := form.EncodeValues(fd)
	if err != nil {
		t.Fatal(err)
	}
	if want := "label=LABEL_OPTIONAL&name=f&options.deprecated=false"; got.Encode() != want {
		t.Errorf("got %s, want %s", got.Encode(), want)
	}
	var nilMsg *descriptorpb.FieldDescriptorProto
	if got, err := form.EncodeValues(nilMsg); err != nil || len(got) != 0 {
		t.Errorf("nil message: got %v, %v", got, err)
	}
}
