package protovalidate_test

import (
	"context"
	stderrors "errors"
	"testing"

	bv "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	pv "buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/zelos-go/zelos/contrib/middleware/protovalidate"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/validate"
)

// userType returns a message type test.User { string name = 1; } whose name
// must be at least 3 characters long, built at run time so that the test
// needs no generated code.
func userType(t *testing.T) protoreflect.MessageType {
	t.Helper()
	fieldOpts := &descriptorpb.FieldOptions{}
	proto.SetExtension(fieldOpts, bv.E_Field, bv.FieldRules_builder{
		String: bv.StringRules_builder{MinLen: proto.Uint64(3)}.Build(),
	}.Build())
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("test/user.proto"),
		Package:    proto.String("test"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"buf/validate/validate.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("User"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:     proto.String("name"),
				JsonName: proto.String("name"),
				Number:   proto.Int32(1),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Options:  fieldOpts,
			}},
		}},
	}
	fd, err := protodesc.NewFile(file, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return dynamicpb.NewMessageType(fd.Messages().ByName("User"))
}

func newUser(mt protoreflect.MessageType, name string) proto.Message {
	m := mt.New()
	m.Set(mt.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(name))
	return m.Interface()
}

func echo(_ context.Context, req any) (any, error) { return req, nil }

func TestValidator(t *testing.T) {
	mt := userType(t)
	ctx := context.Background()
	for name, m := range map[string]func() (func(context.Context, any) (any, error), error){
		"global": func() (func(context.Context, any) (any, error), error) {
			return protovalidate.Validator()(echo), nil
		},
		"WithValidator": func() (func(context.Context, any) (any, error), error) {
			v, err := pv.New()
			return protovalidate.Validator(protovalidate.WithValidator(v))(echo), err
		},
	} {
		t.Run(name, func(t *testing.T) {
			h, err := m()
			if err != nil {
				t.Fatal(err)
			}
			_, err = h(ctx, newUser(mt, "al"))
			var e *errors.Error
			if !errors.As(err, &e) || e.Code != 400 || e.Reason != validate.Reason {
				t.Fatalf("error = %v, want 400 %s", err, validate.Reason)
			}
			var ve *pv.ValidationError
			if !stderrors.As(err, &ve) || len(ve.Violations) != 1 {
				t.Errorf("cause = %v, want one violation", errors.Cause(err))
			}
			ok := newUser(mt, "alice")
			if reply, err := h(ctx, ok); reply != ok || err != nil {
				t.Errorf("valid request: %v, %v", reply, err)
			}
			if reply, err := h(ctx, "not proto"); reply != "not proto" || err != nil {
				t.Errorf("non-proto request: %v, %v", reply, err)
			}
		})
	}
}
