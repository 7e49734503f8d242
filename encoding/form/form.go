// Package form is the codec for application/x-www-form-urlencoded bodies,
// registered under the name "form", and the mapping between url.Values and
// Go values that the HTTP transport uses for query strings and path
// variables.
//
// # Keys
//
// A key is a field path: field names separated by dots for nested messages
// or structs ("filter.author.name"), and a bracketed key for map entries
// ("labels[env]=prod", "users[42].name=bob"). Repeated fields take one value
// per repeated key ("ids=1&ids=2"). For a singular field only the first value
// of a key is used.
//
// Proto messages are handled through protoreflect. A field matches its proto
// name (page_size) and its JSON name (pageSize). Scalars are parsed as in
// protojson: bools accept strconv.ParseBool forms plus "on" and "off", enums
// accept the value name or number, bytes accept standard and URL-safe base64
// with or without padding. Well-known types take a single value:
//
//	google.protobuf.Timestamp  RFC 3339, "2024-05-01T10:00:00Z"
//	google.protobuf.Duration   "1.5s", or time.ParseDuration syntax ("1m30s")
//	google.protobuf.*Value     the wrapped scalar ("7", "true", "text")
//	google.protobuf.FieldMask  comma-separated paths, "displayName,author.id"
//	google.protobuf.Struct     a JSON object; ListValue a JSON array
//	google.protobuf.Value      JSON, or any other text as a string value
//	google.protobuf.Empty      any value sets the field
//
// Structs are handled by reflection, with the field information cached per
// type. A field's name comes from its `form` tag, else its `json` tag, else
// the Go field name; a tag name of "-" skips the field and the omitempty
// option skips zero values when encoding. Names match exactly first, then
// case-insensitively. Supported field types are strings, bools, integers,
// floats, []byte (base64), time.Time (RFC 3339), time.Duration,
// encoding.TextUnmarshaler implementations, proto messages (as above),
// pointers to these, nested and embedded structs, slices of leaf values and
// maps from string, integer or bool keys to leaf values. Fields of other
// types are ignored.
//
// # Decoding rules
//
// Keys that name no field are ignored, since query strings routinely carry
// parameters meant for someone else. A value that cannot be parsed for the
// field it names is an error that quotes both, for example
//
//	form: field "page": invalid value "abc" for int32
//
// An empty value ("page=") leaves a field unchanged unless the field accepts
// empty text: strings, bytes, text unmarshalers and the StringValue,
// BytesValue, FieldMask, Value and Empty well-known types. Keys are applied in
// sorted order, so when two keys name the same field (page_size and pageSize)
// or two members of a oneof, the result does not depend on map order.
// Decoding merges into the target: set fields are overwritten and repeated
// fields appended to. On error the target may be partially updated.
//
// # Encoding rules
//
// EncodeValues writes proto messages with JSON names and populated fields
// only, enums by name and well-known types in the forms above. Structs are
// written with all their fields except nil pointers and omitempty zero
// values. Repeated fields of messages other than well-known types cannot be
// expressed and are skipped. url.Values.Encode sorts keys, so the query
// string built from a value is deterministic.
package form

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/zelos-go/zelos/encoding"
	"google.golang.org/protobuf/proto"
)

// Name is the content subtype the codec is registered under.
const Name = "form"

func init() {
	encoding.RegisterCodec(Codec{})
}

// Codec is the form codec. The zero value is ready to use.
type Codec struct{}

// Name returns "form".
func (Codec) Name() string { return Name }

// Marshal returns the URL-encoded form of v, as built by EncodeValues, with
// keys in sorted order. v may also be a url.Values.
func (Codec) Marshal(v any) ([]byte, error) {
	if vals, ok := v.(url.Values); ok {
		return []byte(vals.Encode()), nil
	}
	vals, err := EncodeValues(v)
	if err != nil {
		return nil, err
	}
	return []byte(vals.Encode()), nil
}

// Unmarshal parses data as a URL-encoded form and decodes it into v with
// DecodeValues.
func (Codec) Unmarshal(data []byte, v any) error {
	vals, err := url.ParseQuery(string(data))
	if err != nil {
		return fmt.Errorf("form: invalid form data: %w", err)
	}
	return DecodeValues(v, vals)
}

var messageType = reflect.TypeFor[proto.Message]()

// DecodeValues merges vals into v, which must be a proto.Message, a non-nil
// pointer to a struct (or to a nil pointer to one, which is allocated), or a
// url.Values or *url.Values, whose values are appended to. See the package
// documentation for how keys and values are interpreted.
func DecodeValues(v any, vals url.Values) error {
	switch t := v.(type) {
	case proto.Message:
		m := t.ProtoReflect()
		if !m.IsValid() {
			return fmt.Errorf("form: cannot decode into nil %T", v)
		}
		return decodeProto(m, vals)
	case url.Values:
		if t == nil {
			return fmt.Errorf("form: cannot decode into nil url.Values")
		}
		mergeValues(t, vals)
		return nil
	case *url.Values:
		if t == nil {
			return fmt.Errorf("form: cannot decode into nil *url.Values")
		}
		if *t == nil {
			*t = make(url.Values, len(vals))
		}
		mergeValues(*t, vals)
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("form: cannot decode into %T: want a non-nil pointer to a struct or a proto.Message", v)
	}
	for rv = rv.Elem(); rv.Kind() == reflect.Pointer; rv = rv.Elem() {
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		if rv.Type().Implements(messageType) {
			return decodeProto(rv.Interface().(proto.Message).ProtoReflect(), vals)
		}
	}
	if rv.Kind() != reflect.Struct {
		return fmt.Errorf("form: cannot decode into %T: want a non-nil pointer to a struct or a proto.Message", v)
	}
	return decodeStruct(rv, vals)
}

func mergeValues(dst, src url.Values) {
	for k, vs := range src {
		dst[k] = append(dst[k], vs...)
	}
}

// EncodeValues returns the form values for v, which must be a proto.Message,
// a struct or a pointer to one, or a url.Values (returned as a copy). A nil
// pointer gives empty values. See the package documentation for the format.
func EncodeValues(v any) (url.Values, error) {
	out := make(url.Values)
	switch t := v.(type) {
	case proto.Message:
		m := t.ProtoReflect()
		if !m.IsValid() {
			return out, nil
		}
		if err := encodeProto(m, "", out); err != nil {
			return nil, err
		}
		return out, nil
	case url.Values:
		mergeValues(out, t)
		return out, nil
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return out, nil
		}
		if rv.Type().Implements(messageType) {
			if err := encodeProto(rv.Interface().(proto.Message).ProtoReflect(), "", out); err != nil {
				return nil, err
			}
			return out, nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("form: cannot encode %T: want a struct or a proto.Message", v)
	}
	if !rv.CanAddr() {
		// Make fields addressable, for MarshalText methods on pointers.
		c := reflect.New(rv.Type()).Elem()
		c.Set(rv)
		rv = c
	}
	if err := encodeStruct(rv, "", out, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// elem is one element of a key path: name, or name[key], followed by rest
// when more is set.
type elem struct {
	name, key, rest string
	hasKey, more    bool
}

// cutElem splits the first element off a key path. It reports false for
// malformed paths, which are treated as unknown keys. A map key runs to the
// first "]." or to a final "]", so it may contain dots and brackets.
func cutElem(path string) (e elem, ok bool) {
	i := strings.IndexAny(path, ".[")
	if i < 0 {
		return elem{name: path}, path != ""
	}
	if i == 0 {
		return e, false
	}
	e.name = path[:i]
	if path[i] == '.' {
		e.rest, e.more = path[i+1:], true
		return e, e.rest != ""
	}
	tail := path[i+1:]
	e.hasKey = true
	if j := strings.Index(tail, "]."); j >= 0 {
		e.key, e.rest, e.more = tail[:j], tail[j+2:], true
		return e, e.rest != ""
	}
	if n := len(tail); n > 0 && tail[n-1] == ']' {
		e.key = tail[:n-1]
		return e, true
	}
	return e, false
}

// fieldError returns an error about the field named by key.
func fieldError(key, format string, args ...any) error {
	return fmt.Errorf("form: field %q: %s", clipN(key, maxKeyInError), fmt.Sprintf(format, args...))
}

// invalidValue returns the error for a value that does not parse as typ.
func invalidValue(key, value, typ string) error {
	return fmt.Errorf("form: field %q: invalid value %q for %s", clipN(key, maxKeyInError), clip(value), typ)
}

// maxKeyInError bounds the length of a key quoted in an error: real field
// paths are far shorter, hostile ones need not be echoed whole.
const maxKeyInError = 256

// clip shortens user input quoted in error messages.
func clip(s string) string { return clipN(s, 64) }

// clipN shortens s to n bytes and an ellipsis.
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
