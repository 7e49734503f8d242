package errorsgen

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	zerrors "github.com/zelos-go/zelos/errors"
)

// TestFieldNumbers checks the option numbers read from raw options against
// the generated code of zelos/errors/errors.proto.
func TestFieldNumbers(t *testing.T) {
	if got := int32(defaultCodeField); got != zerrors.E_DefaultCode.Field {
		t.Errorf("defaultCodeField = %d, errors.proto says %d", got, zerrors.E_DefaultCode.Field)
	}
	if got := int32(codeField); got != zerrors.E_Code.Field {
		t.Errorf("codeField = %d, errors.proto says %d", got, zerrors.E_Code.Field)
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"USER_NOT_FOUND": "UserNotFound",
		"user_exists":    "UserExists",
		"A":              "A",
		"__X__Y":         "XY",
		"_1_FOO":         "X1Foo",
	} {
		if got := Camel(in); got != want {
			t.Errorf("Camel(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNoKratosCollision registers, next to the zelos.errors options that
// importing github.com/zelos-go/zelos/errors registered at init, options of
// the shape Kratos declares (errors.default_code = 1108 on EnumOptions,
// errors.code = 1109 on EnumValueOptions). A binary linking both frameworks
// panics at init when the numbers collide, so the global registry must
// accept them.
func TestNoKratosCollision(t *testing.T) {
	for _, n := range []int32{zerrors.E_DefaultCode.Field, zerrors.E_Code.Field} {
		if n >= 1000 && n < 2000 || n >= 19000 && n < 20000 || n >= 50000 && n < 100000 {
			t.Errorf("extension number %d is in the global registry's range, the reserved range or the private range", n)
		}
	}
	kratos := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("kratos/errors/errors.proto"),
		Package:    proto.String("errors"),
		Dependency: []string{"google/protobuf/descriptor.proto"},
		Syntax:     proto.String("proto3"),
		Extension: []*descriptorpb.FieldDescriptorProto{
			{
				Name:     proto.String("default_code"),
				Number:   proto.Int32(1108),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(),
				Extendee: proto.String(".google.protobuf.EnumOptions"),
				JsonName: proto.String("defaultCode"),
			},
			{
				Name:     proto.String("code"),
				Number:   proto.Int32(1109),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(),
				Extendee: proto.String(".google.protobuf.EnumValueOptions"),
				JsonName: proto.String("code"),
			},
		},
	}
	fd, err := protodesc.NewFile(kratos, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
		t.Errorf("register %s: %v", fd.Path(), err)
	}
	exts := fd.Extensions()
	for i := range exts.Len() {
		xd := exts.Get(i)
		t.Run(string(xd.FullName()), func(t *testing.T) {
			if prev, err := protoregistry.GlobalTypes.FindExtensionByNumber(xd.ContainingMessage().FullName(), xd.Number()); err == nil {
				t.Fatalf("%s %d is taken by %s", xd.ContainingMessage().FullName(), xd.Number(), prev.TypeDescriptor().FullName())
			}
			if err := protoregistry.GlobalTypes.RegisterExtension(dynamicpb.NewExtensionType(xd)); err != nil {
				t.Fatalf("register %s: %v", xd.FullName(), err)
			}
		})
	}
}
