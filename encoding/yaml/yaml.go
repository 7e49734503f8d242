// Package yaml is the YAML codec, registered under the name "yaml". It uses
// gopkg.in/yaml.v3. Proto messages are converted through protojson, so their
// YAML field names are the same lowerCamelCase names as in JSON, and
// well-known types (Timestamp, Duration, ...) get their JSON forms.
//
// Decoding takes time linear in the input, but yaml.v3 is slow: about
// 0.25 µs of CPU per byte, ten times encoding/json. So that one request
// cannot burn seconds of CPU, Unmarshal rejects documents larger than
// DefaultMaxSize (1 MiB) unless Codec.MaxSize says otherwise; the HTTP
// transport's 4 MiB body bound still applies to the other codecs.
package yaml

import (
	stdjson "encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/zelos-go/zelos/encoding"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
)

// Name is the content subtype the codec is registered under.
const Name = "yaml"

func init() {
	encoding.RegisterCodec(Codec{})
}

// DefaultMaxSize is the largest document Codec.Unmarshal accepts when
// Codec.MaxSize is zero: 1 MiB, which yaml.v3 decodes in about a quarter of
// a second.
const DefaultMaxSize = 1 << 20

// Codec is the YAML codec. The zero value, which is the one registered, is
// ready to use.
type Codec struct {
	// MaxSize bounds the documents Unmarshal accepts, in bytes; a larger
	// one is an error. Zero, the default, means DefaultMaxSize; a negative
	// value means no bound.
	MaxSize int
}

// Name returns "yaml".
func (Codec) Name() string { return Name }

var (
	marshalOpts   = protojson.MarshalOptions{}
	unmarshalOpts = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// Marshal returns the YAML encoding of v. A proto.Message is written with
// its populated fields only, in field order.
func (Codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return marshalValue(v)
	}
	js, err := marshalOpts.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("yaml: marshal %T: %w", v, err)
	}
	// JSON is YAML: parse it into a node tree, which keeps the field order,
	// and drop the flow/quoting styles so it is printed as block YAML.
	var doc yaml.Node
	if err := yaml.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("yaml: marshal %T: %w", v, err)
	}
	clearStyle(&doc)
	b, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("yaml: marshal %T: %w", v, err)
	}
	return b, nil
}

// marshalValue calls yaml.Marshal, which panics on types it cannot encode
// (funcs, channels), and turns such panics into errors.
func marshalValue(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("yaml: marshal %T: %v", v, r)
		}
	}()
	b, err = yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("yaml: marshal %T: %w", v, err)
	}
	return b, nil
}

func clearStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}

// Unmarshal parses the YAML in data into v. For a proto.Message the document
// is converted to JSON and read with protojson, ignoring unknown fields; an
// empty document leaves the message unchanged.
//
// A document larger than MaxSize is rejected before it is parsed.
func (c Codec) Unmarshal(data []byte, v any) error {
	if max := c.maxSize(); max >= 0 && len(data) > max {
		return fmt.Errorf("yaml: document of %d bytes exceeds the %d-byte limit", len(data), max)
	}
	m, ok := v.(proto.Message)
	if !ok {
		if err := unmarshal(data, v); err != nil {
			return fmt.Errorf("yaml: unmarshal into %T: %w", v, err)
		}
		return nil
	}
	if !m.ProtoReflect().IsValid() {
		return fmt.Errorf("yaml: cannot unmarshal into nil %T", v)
	}
	name := m.ProtoReflect().Descriptor().FullName()
	var tree any
	if err := unmarshal(data, &tree); err != nil {
		return fmt.Errorf("yaml: invalid YAML for %s: %w", name, err)
	}
	if tree == nil {
		return nil
	}
	tree, err := jsonCompatible(tree)
	if err != nil {
		return fmt.Errorf("yaml: invalid YAML for %s: %w", name, err)
	}
	js, err := stdjson.Marshal(tree)
	if err != nil {
		return fmt.Errorf("yaml: invalid YAML for %s: %w", name, err)
	}
	if err := unmarshalOpts.Unmarshal(js, m); err != nil {
		return fmt.Errorf("yaml: invalid YAML for %s: %w", name, err)
	}
	return nil
}

func (c Codec) maxSize() int {
	if c.MaxSize == 0 {
		return DefaultMaxSize
	}
	return c.MaxSize
}

// jsonCompatible rewrites a tree decoded by yaml.v3 into values that
// encoding/json accepts and protojson understands.
func jsonCompatible(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			e, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[k] = e
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			switch k.(type) {
			case map[string]any, map[any]any, []any:
				return nil, fmt.Errorf("mapping key %v is not a scalar", k)
			}
			e, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = e
		}
		return out, nil
	case []any:
		for i, e := range t {
			e, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[i] = e
		}
		return t, nil
	case float64:
		switch {
		case math.IsNaN(t):
			return "NaN", nil
		case math.IsInf(t, 1):
			return "Infinity", nil
		case math.IsInf(t, -1):
			return "-Infinity", nil
		}
		return t, nil
	case time.Time:
		return t.Format(time.RFC3339Nano), nil
	default:
		return v, nil
	}
}
