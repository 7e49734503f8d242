// Package msgpack registers a MessagePack codec, named "msgpack", using
// github.com/vmihailenco/msgpack/v5. Import it for its side effect:
//
//	import _ "github.com/zelos-go/zelos/contrib/encoding/msgpack"
//
// HTTP clients that send Accept: application/msgpack then get MessagePack
// replies. Request bodies are accepted once the server lists the codec:
// http.RequestCodecs("json", "proto", "msgpack").
//
// Struct fields are named by their msgpack tag, else their json tag, else
// the field name, so generated and hand-written types encode as they do in
// JSON.
package msgpack

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/zelos-go/zelos/encoding"
)

// Name is the codec's content subtype: application/msgpack.
const Name = "msgpack"

func init() { encoding.RegisterCodec(Codec{}) }

// Codec is the MessagePack codec.
type Codec struct{}

// Name implements encoding.Codec.
func (Codec) Name() string { return Name }

// Marshal implements encoding.Codec.
func (Codec) Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetCustomStructTag("json")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("msgpack: marshal %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// Unmarshal implements encoding.Codec. The input is checked first (see
// check) so that no declared length can make the decoder allocate more
// than the input's size, and no nesting can exhaust the stack.
func (Codec) Unmarshal(data []byte, v any) error {
	if err := check(data); err != nil {
		return fmt.Errorf("msgpack: unmarshal into %T: %w", v, err)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.SetCustomStructTag("json")
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("msgpack: unmarshal into %T: %w", v, err)
	}
	return nil
}
