package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	yamlcodec "github.com/zelos-go/zelos/encoding/yaml"
)

// ErrNotFound is wrapped by the errors of a Value whose key is missing.
var ErrNotFound = errors.New("not found")

// Value is the configuration at one key, as it was when Config.Value was
// called. It never changes; call Config.Value again (or use Config.Watch) to
// see later reloads. Every method of a Value whose key is missing returns an
// error wrapping ErrNotFound (`config: key "x.y" not found`), and Load
// returns nil.
type Value interface {
	// Bool returns a bool, or a string such as "true" or "0" parsed as one.
	Bool() (bool, error)
	// Int returns an integer, a float without fraction, or a decimal string.
	Int() (int64, error)
	// Float returns a number or a string parsed as one.
	Float() (float64, error)
	// String returns a string, or the text of a bool or number.
	String() (string, error)
	// Duration returns a duration string such as "1.5s", or an integer
	// number of nanoseconds.
	Duration() (time.Duration, error)
	// Slice returns the elements of a list.
	Slice() ([]Value, error)
	// Map returns the entries of a map.
	Map() (map[string]Value, error)
	// Scan decodes the value into v, which is a pointer or a proto.Message
	// (see Config.Scan). With Strict, keys that v has no field for are an
	// error naming each of them.
	Scan(v any, opts ...ScanOption) error
	// Load returns a copy of the raw value: map[string]any, []any, string,
	// bool, int64, float64 or nil.
	Load() any
}

type value struct {
	key string
	v   any
	ok  bool
}

func (v value) notFound() error {
	return fmt.Errorf("config: key %q %w", v.key, ErrNotFound)
}

// convErr names the key and the kind of its value, never the value, which
// may be a secret.
func (v value) convErr(to string) error {
	return fmt.Errorf("config: key %q: cannot convert a %s to %s", v.key, kind(v.v), to)
}

func (v value) Bool() (bool, error) {
	if !v.ok {
		return false, v.notFound()
	}
	switch x := v.v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b, nil
		}
	}
	return false, v.convErr("bool")
}

func (v value) Int() (int64, error) {
	if !v.ok {
		return 0, v.notFound()
	}
	switch x := v.v.(type) {
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x), nil
		}
	case string:
		if i, err := strconv.ParseInt(x, 10, 64); err == nil {
			return i, nil
		}
	}
	return 0, v.convErr("int")
}

func (v value) Float() (float64, error) {
	if !v.ok {
		return 0, v.notFound()
	}
	switch x := v.v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, nil
		}
	}
	return 0, v.convErr("float")
}

func (v value) String() (string, error) {
	if !v.ok {
		return "", v.notFound()
	}
	switch x := v.v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", v.convErr("string")
}

func (v value) Duration() (time.Duration, error) {
	if !v.ok {
		return 0, v.notFound()
	}
	switch x := v.v.(type) {
	case int64:
		return time.Duration(x), nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return time.Duration(x), nil
		}
	case string:
		if d, err := time.ParseDuration(x); err == nil {
			return d, nil
		}
		if i, err := strconv.ParseInt(x, 10, 64); err == nil {
			return time.Duration(i), nil
		}
	}
	return 0, v.convErr("duration")
}

func (v value) Slice() ([]Value, error) {
	if !v.ok {
		return nil, v.notFound()
	}
	s, ok := v.v.([]any)
	if !ok {
		return nil, v.convErr("list")
	}
	out := make([]Value, len(s))
	for i, e := range s {
		out[i] = value{key: joinKey(v.key, strconv.Itoa(i)), v: e, ok: true}
	}
	return out, nil
}

func (v value) Map() (map[string]Value, error) {
	if !v.ok {
		return nil, v.notFound()
	}
	m, ok := v.v.(map[string]any)
	if !ok {
		return nil, v.convErr("map")
	}
	out := make(map[string]Value, len(m))
	for k, e := range m {
		out[k] = value{key: joinKey(v.key, k), v: e, ok: true}
	}
	return out, nil
}

func (v value) Load() any {
	return deepCopy(v.v)
}

func (v value) Scan(dst any, opts ...ScanOption) error {
	if !v.ok {
		return v.notFound()
	}
	var o scanOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.strict {
		if err := unknownKeys(v.key, v.v, dst); err != nil {
			return err
		}
	}
	if err := scan(v.v, dst); err != nil {
		if v.key == "" {
			return fmt.Errorf("config: scan into %T: %w", dst, err)
		}
		return fmt.Errorf("config: key %q: scan into %T: %w", v.key, dst, err)
	}
	return nil
}

// scan decodes a tree value into dst: protojson for proto messages, YAML
// for structs tagged only with `yaml` tags, JSON otherwise.
func scan(src, dst any) error {
	if m, ok := dst.(proto.Message); ok {
		b, err := json.Marshal(src)
		if err != nil {
			return err
		}
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, m)
	}
	if prefersYAML(reflect.TypeOf(dst)) {
		b, err := yaml.Marshal(src)
		if err != nil {
			return err
		}
		// The codec decodes in linear time (see unmarshalYAML).
		return yamlcodec.Codec{MaxSize: -1}.Unmarshal(b, dst)
	}
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// prefersYAML reports whether the struct t points to uses `yaml` field tags
// and no `json` tags, anywhere in its nested struct fields.
func prefersYAML(t reflect.Type) bool {
	var hasYAML, hasJSON bool
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice ||
			t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if _, ok := f.Tag.Lookup("yaml"); ok {
				hasYAML = true
			}
			if _, ok := f.Tag.Lookup("json"); ok {
				hasJSON = true
			}
			visit(f.Type)
		}
	}
	visit(t)
	return hasYAML && !hasJSON
}
