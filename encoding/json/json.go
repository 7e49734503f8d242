// Package json is the JSON codec, registered under the name "json".
//
// Values that implement proto.Message are encoded with protojson; every other
// value goes through encoding/json. The registered codec emits unpopulated
// fields and uses lowerCamelCase JSON field names when marshaling, and
// ignores unknown fields when unmarshaling, which matches what gRPC-gateway
// and Kratos clients expect. Build a Codec with New to change that for one
// server or client.
package json

import (
	stdjson "encoding/json"
	"fmt"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/internal/protomsg"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Name is the content subtype the codec is registered under.
const Name = "json"

func init() {
	encoding.RegisterCodec(New())
}

// Codec is a JSON codec. Its options apply only to proto.Message values;
// other values are handled by encoding/json with its defaults.
//
// The zero value is usable and applies protojson's own defaults (unpopulated
// fields omitted, unknown fields rejected); New applies this package's
// defaults. A Codec must not be modified once in use, and is then safe for
// concurrent use.
type Codec struct {
	// MarshalOptions configures how proto messages are marshaled.
	MarshalOptions protojson.MarshalOptions
	// UnmarshalOptions configures how proto messages are unmarshaled.
	UnmarshalOptions protojson.UnmarshalOptions
}

// Option configures a Codec built by New.
type Option func(*Codec)

// EmitUnpopulated sets whether unpopulated proto fields are written, as
// their zero value or null. The default is true.
func EmitUnpopulated(emit bool) Option {
	return func(c *Codec) { c.MarshalOptions.EmitUnpopulated = emit }
}

// UseProtoNames sets whether proto field names (page_size) are written
// instead of their lowerCamelCase JSON names (pageSize). The default is
// false. Unmarshaling always accepts both.
func UseProtoNames(use bool) Option {
	return func(c *Codec) { c.MarshalOptions.UseProtoNames = use }
}

// UseEnumNumbers sets whether proto enum values are written as numbers
// instead of names. The default is false. Unmarshaling always accepts both.
func UseEnumNumbers(use bool) Option {
	return func(c *Codec) { c.MarshalOptions.UseEnumNumbers = use }
}

// DiscardUnknown sets whether unknown JSON fields are ignored when
// unmarshaling into a proto message, instead of being an error. The default
// is true.
func DiscardUnknown(discard bool) Option {
	return func(c *Codec) { c.UnmarshalOptions.DiscardUnknown = discard }
}

// New returns a Codec with the package defaults (EmitUnpopulated and
// DiscardUnknown on, JSON field names, enum names) changed by opts.
func New(opts ...Option) *Codec {
	c := &Codec{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Name returns "json".
func (*Codec) Name() string { return Name }

// Marshal returns the JSON encoding of v, using protojson when v is a
// proto.Message.
func (c *Codec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(proto.Message); ok {
		b, err := c.MarshalOptions.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("json: marshal %T: %w", v, err)
		}
		return b, nil
	}
	b, err := stdjson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("json: marshal %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal parses the JSON in data into v, using protojson when v is a
// proto.Message or a pointer to one (a nil *Message is allocated).
func (c *Codec) Unmarshal(data []byte, v any) error {
	m, ok := protomsg.Target(v)
	if ok {
		if !m.ProtoReflect().IsValid() {
			return fmt.Errorf("json: cannot unmarshal into nil %T", v)
		}
		if err := c.UnmarshalOptions.Unmarshal(data, m); err != nil {
			return fmt.Errorf("json: invalid JSON for %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
		return nil
	}
	if err := stdjson.Unmarshal(data, v); err != nil {
		return fmt.Errorf("json: unmarshal into %T: %w", v, err)
	}
	return nil
}
