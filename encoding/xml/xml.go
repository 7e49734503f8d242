// Package xml is the XML codec, registered under the name "xml". It is a thin
// wrapper around encoding/xml.
package xml

import (
	"encoding/xml"
	"fmt"

	"github.com/zelos-go/zelos/encoding"
)

// Name is the content subtype the codec is registered under.
const Name = "xml"

func init() {
	encoding.RegisterCodec(Codec{})
}

// Codec is the XML codec. The zero value is ready to use.
type Codec struct{}

// Name returns "xml".
func (Codec) Name() string { return Name }

// Marshal returns the XML encoding of v, as xml.Marshal does.
func (Codec) Marshal(v any) ([]byte, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("xml: marshal %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal parses the XML in data into v, as xml.Unmarshal does.
func (Codec) Unmarshal(data []byte, v any) error {
	if err := xml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("xml: unmarshal into %T: %w", v, err)
	}
	return nil
}
