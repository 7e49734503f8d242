// Package proto is the protocol buffers binary codec, registered under the
// name "proto". It accepts only proto.Message values.
package proto

import (
	"fmt"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/internal/protomsg"
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
	m, ok := protomsg.Target(v)
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
