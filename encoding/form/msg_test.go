package form_test

import (
	"sync"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// Register the well-known types the test file imports.
	_ "google.golang.org/protobuf/types/known/durationpb"
	_ "google.golang.org/protobuf/types/known/emptypb"
	_ "google.golang.org/protobuf/types/known/fieldmaskpb"
	_ "google.golang.org/protobuf/types/known/structpb"
	_ "google.golang.org/protobuf/types/known/timestamppb"
	_ "google.golang.org/protobuf/types/known/wrapperspb"
)

// testFile describes, in proto text format, a proto3 file with every field
// shape the form mapping handles:
//
//	enum Color { COLOR_UNSPECIFIED = 0; RED = 1; GREEN = 2; }
//	message Inner { string name = 1; int32 count = 2; Color color = 3; Inner child = 4; }
//	message Msg { ... see the field list ... }
const testFile = `
name: "zelos/form/test.proto"
package: "zelos.form.test"
syntax: "proto3"
dependency: "google/protobuf/timestamp.proto"
dependency: "google/protobuf/duration.proto"
dependency: "google/protobuf/wrappers.proto"
dependency: "google/protobuf/field_mask.proto"
dependency: "google/protobuf/struct.proto"
dependency: "google/protobuf/empty.proto"
enum_type {
  name: "Color"
  value { name: "COLOR_UNSPECIFIED" number: 0 }
  value { name: "RED" number: 1 }
  value { name: "GREEN" number: 2 }
}
message_type {
  name: "Inner"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "count" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "color" number: 3 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".zelos.form.test.Color" }
  field { name: "child" number: 4 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".zelos.form.test.Inner" }
}
message_type {
  name: "Msg"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "page_size" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "i64" number: 3 label: LABEL_OPTIONAL type: TYPE_INT64 }
  field { name: "u32" number: 4 label: LABEL_OPTIONAL type: TYPE_UINT32 }
  field { name: "u64" number: 5 label: LABEL_OPTIONAL type: TYPE_UINT64 }
  field { name: "s32" number: 6 label: LABEL_OPTIONAL type: TYPE_SINT32 }
  field { name: "s64" number: 7 label: LABEL_OPTIONAL type: TYPE_SINT64 }
  field { name: "f32" number: 8 label: LABEL_OPTIONAL type: TYPE_FIXED32 }
  field { name: "f64" number: 9 label: LABEL_OPTIONAL type: TYPE_FIXED64 }
  field { name: "sf32" number: 10 label: LABEL_OPTIONAL type: TYPE_SFIXED32 }
  field { name: "sf64" number: 11 label: LABEL_OPTIONAL type: TYPE_SFIXED64 }
  field { name: "fl" number: 12 label: LABEL_OPTIONAL type: TYPE_FLOAT }
  field { name: "db" number: 13 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
  field { name: "flag" number: 14 label: LABEL_OPTIONAL type: TYPE_BOOL }
  field { name: "data" number: 15 label: LABEL_OPTIONAL type: TYPE_BYTES }
  field { name: "color" number: 16 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".zelos.form.test.Color" }
  field { name: "inner" number: 17 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".zelos.form.test.Inner" }
  field { name: "ids" number: 18 label: LABEL_REPEATED type: TYPE_INT32 }
  field { name: "tags" number: 19 label: LABEL_REPEATED type: TYPE_STRING }
  field { name: "colors" number: 20 label: LABEL_REPEATED type: TYPE_ENUM type_name: ".zelos.form.test.Color" }
  field { name: "labels" number: 21 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".zelos.form.test.Msg.LabelsEntry" }
  field { name: "items" number: 22 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".zelos.form.test.Msg.ItemsEntry" }
  field { name: "create_time" number: 23 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" }
  field { name: "ttl" number: 24 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" }
  field { name: "max" number: 25 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Int64Value" }
  field { name: "nick" number: 26 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.StringValue" }
  field { name: "enabled" number: 27 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.BoolValue" }
  field { name: "update_mask" number: 28 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.FieldMask" }
  field { name: "attrs" number: 29 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Struct" }
  field { name: "any_value" number: 30 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Value" }
  field { name: "list" number: 31 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.ListValue" }
  field { name: "nothing" number: 32 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Empty" }
  field { name: "times" number: 33 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" }
  field { name: "text" number: 34 label: LABEL_OPTIONAL type: TYPE_STRING oneof_index: 0 }
  field { name: "number" number: 35 label: LABEL_OPTIONAL type: TYPE_INT32 oneof_index: 0 }
  field { name: "nested" number: 36 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".zelos.form.test.Inner" oneof_index: 0 }
  field { name: "opt" number: 37 label: LABEL_OPTIONAL type: TYPE_INT32 oneof_index: 1 proto3_optional: true }
  field { name: "deadlines" number: 38 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".zelos.form.test.Msg.DeadlinesEntry" }
  field { name: "blob" number: 39 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.BytesValue" }
  field { name: "ratio" number: 40 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.DoubleValue" }
  field { name: "inners" number: 41 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".zelos.form.test.Inner" }
  field { name: "flags" number: 42 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".zelos.form.test.Msg.FlagsEntry" }
  field { name: "self" number: 43 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".zelos.form.test.Msg" }
  field { name: "durations" number: 44 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" }
  field { name: "masks" number: 45 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".google.protobuf.FieldMask" }
  field { name: "values" number: 46 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".google.protobuf.Value" }
  nested_type {
    name: "LabelsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
    options { map_entry: true }
  }
  nested_type {
    name: "ItemsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".zelos.form.test.Inner" }
    options { map_entry: true }
  }
  nested_type {
    name: "DeadlinesEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" }
    options { map_entry: true }
  }
  nested_type {
    name: "FlagsEntry"
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_BOOL }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
    options { map_entry: true }
  }
  oneof_decl { name: "kind" }
  oneof_decl { name: "_opt" }
}
`

var testDesc = sync.OnceValue(func() protoreflect.MessageDescriptor {
	var fdp descriptorpb.FileDescriptorProto
	if err := prototext.Unmarshal([]byte(testFile), &fdp); err != nil {
		panic(err)
	}
	fd, err := protodesc.NewFile(&fdp, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	return fd.Messages().ByName("Msg")
})

// newMsg returns an empty dynamic zelos.form.test.Msg.
func newMsg() *dynamicpb.Message { return dynamicpb.NewMessage(testDesc()) }

func protoreflectInt32(n int32) protoreflect.Value   { return protoreflect.ValueOfInt32(n) }
func protoreflectString(s string) protoreflect.Value { return protoreflect.ValueOfString(s) }
