// Package proto is the protocol buffers binary codec, registered under the
// name "proto". It accepts only proto.Message values.
package proto

import (
	"fmt"
	"reflect"

	"github.com/zelos-go/zelos/encoding"
	"google.golang.org/protobuf/proto"
)

// Name is the content subtype the codec is registered under.
const Name = "proto"

func init() {
	encoding.RegisterCodec(Codec{})
}

// Codec is the protobuf binary codec. The zero value is ready to use.
type Codec struct{}

// Name returns "proto".
func (Codec) Name() string { return Name }

// Marshal returns the wire encoding of v, which must be a proto.Message.
func (Codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("proto: cannot marshal %T: not a proto.Message", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("proto: marshal %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal parses the wire encoding in data into v, which must be a
// proto.Message or a pointer to one (a nil *Message is allocated). The
// message is reset first.
func (Codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		m, ok = allocMessage(v)
	}
	if !ok {
		return fmt.Errorf("proto: cannot unmarshal into %T: not a proto.Message", v)
	}
	if !m.ProtoReflect().IsValid() {
		return fmt.Errorf("proto: cannot unmarshal into nil %T", v)
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("proto: invalid data for %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

var messageType = reflect.TypeFor[proto.Message]()

// allocMessage handles v of type **M where *M is a proto.Message.
func allocMessage(v any) (proto.Message, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, false
	}
	rv = rv.Elem()
	if rv.Kind() != reflect.Pointer || !rv.Type().Implements(messageType) {
		return nil, false
	}
	if rv.IsNil() {
		rv.Set(reflect.New(rv.Type().Elem()))
	}
	return rv.Interface().(proto.Message), true
}
