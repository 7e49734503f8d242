package config

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"
)

// ScanOption configures one call of Config.Scan or Value.Scan.
type ScanOption func(*scanOptions)

type scanOptions struct {
	strict bool
}

// Strict makes Scan fail when the configuration holds keys that the target
// has no field for, so that a typo such as "adress" for "addr" is an error
// rather than a silently ignored key. The error lists every unknown key,
// one a line, each with the nearest known key when one is close:
//
//	config: unknown key "server.http.adress" (did you mean "addr"?)
//
// Known keys are those the decoder Scan uses would fill: for proto messages
// the proto and JSON field names; for structs decoded as JSON the `json` tag
// names or field names, compared case-insensitively as encoding/json does;
// for structs decoded as YAML the `yaml` tag names or lower-cased field
// names. Keys under maps, interfaces, well-known proto types and types with
// their own unmarshal methods are not checked. On error v is not modified.
func Strict() ScanOption {
	return func(o *scanOptions) { o.strict = true }
}

// unknownKeys returns an error listing the keys of tree (found at prefix)
// that dst has no place for, or nil.
func unknownKeys(prefix string, tree, dst any) error {
	c := &strictCheck{}
	if m, ok := dst.(proto.Message); ok {
		c.message(prefix, tree, m.ProtoReflect().Descriptor())
	} else if t := reflect.TypeOf(dst); t != nil {
		c.yaml = prefersYAML(t)
		c.value(prefix, tree, t)
	}
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortFunc(c.errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(c.errs...)
}

type strictCheck struct {
	yaml bool // Go types are decoded as YAML rather than JSON
	errs []error
}

func (c *strictCheck) unknown(path, key string, known []string) {
	err := fmt.Sprintf("config: unknown key %q", joinKey(path, key))
	if near := nearest(key, known); near != "" {
		err += fmt.Sprintf(" (did you mean %q?)", near)
	}
	c.errs = append(c.errs, errors.New(err))
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	messageType     = reflect.TypeFor[proto.Message]()
)

// value checks tree, found at path, against Go type t.
func (c *strictCheck) value(path string, tree any, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		if c.decodesItself(t) {
			return
		}
		t = t.Elem()
	}
	if c.decodesItself(t) || c.decodesItself(reflect.PointerTo(t)) {
		return
	}
	if reflect.PointerTo(t).Implements(messageType) {
		m := reflect.New(t).Interface().(proto.Message)
		if c.yaml {
			return // yaml.v3 decodes generated structs by field name; leave them be
		}
		c.message(path, tree, m.ProtoReflect().Descriptor())
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := tree.(map[string]any)
		if !ok {
			return
		}
		fields := map[string]structField{}
		open := c.fields(t, fields, 0)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f, ok := fields[c.fold(k)]
			if !ok {
				if !open {
					var known []string
					for _, f := range fields {
						known = append(known, f.name)
					}
					c.unknown(path, k, known)
				}
				continue
			}
			c.value(joinKey(path, k), m[k], f.typ)
		}
	case reflect.Map:
		if m, ok := tree.(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				c.value(joinKey(path, k), m[k], t.Elem())
			}
		}
	case reflect.Slice, reflect.Array:
		if l, ok := tree.([]any); ok {
			for i, e := range l {
				c.value(joinKey(path, fmt.Sprint(i)), e, t.Elem())
			}
		}
	}
}

// decodesItself reports whether values of t decode themselves, so that
// their keys are theirs to check.
func (c *strictCheck) decodesItself(t reflect.Type) bool {
	if c.yaml {
		return t.Implements(yamlUnmarshaler)
	}
	return t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler)
}

// fold returns the form of key that fields are stored under: lower case
// for JSON, which matches names case-insensitively.
func (c *strictCheck) fold(key string) string {
	if c.yaml {
		return key
	}
	return strings.ToLower(key)
}

// structField is a key a struct accepts: its name as written and its type.
type structField struct {
	name string
	typ  reflect.Type
}

// fields adds the keys that struct t accepts to out, with their types, as
// encoding/json or yaml.v3 find them, including promoted and inlined
// fields. It reports whether t also accepts any other key (an inline map).
func (c *strictCheck) fields(t reflect.Type, out map[string]structField, depth int) (open bool) {
	if depth > 16 {
		return true // a cycle of embedded pointers; do not guess
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tagKey := "json"
		if c.yaml {
			tagKey = "yaml"
		}
		tag := f.Tag.Get(tagKey)
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		inline := c.yaml && slices.Contains(strings.Split(flags, ","), "inline")
		embedded := !c.yaml && f.Anonymous && name == "" && ft.Kind() == reflect.Struct
		switch {
		case inline && ft.Kind() == reflect.Map:
			open = true
			continue
		case inline || embedded:
			if c.fields(ft, out, depth+1) {
				open = true
			}
			continue
		case !f.IsExported():
			continue
		}
		if name == "" {
			name = f.Name
			if c.yaml {
				name = strings.ToLower(name)
			}
		}
		// A shallower field hides a promoted one of the same name.
		if _, dup := out[c.fold(name)]; !dup || depth == 0 {
			out[c.fold(name)] = structField{name, f.Type}
		}
	}
	return open
}

// ownJSON reports whether md is a well-known type whose protojson form is
// not an object of its fields.
func ownJSON(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.Any", "google.protobuf.Timestamp", "google.protobuf.Duration",
		"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
		"google.protobuf.FieldMask", "google.protobuf.Empty",
		"google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		return true
	}
	return false
}

// message checks tree, found at path, against the proto message md.
func (c *strictCheck) message(path string, tree any, md protoreflect.MessageDescriptor) {
	if ownJSON(md) {
		return
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return
	}
	fields := md.Fields()
	var known []string
	for i := range fields.Len() {
		known = append(known, string(fields.Get(i).Name()), fields.Get(i).JSONName())
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k))
		}
		if fd == nil {
			if !strings.HasPrefix(k, "[") { // "[pkg.ext]" names an extension
				c.unknown(path, k, known)
			}
			continue
		}
		c.field(joinKey(path, k), m[k], fd)
	}
}

func (c *strictCheck) field(path string, v any, fd protoreflect.FieldDescriptor) {
	switch {
	case fd.IsMap():
		if vd := fd.MapValue(); vd.Message() != nil {
			if m, ok := v.(map[string]any); ok {
				for _, k := range slices.Sorted(maps.Keys(m)) {
					c.message(joinKey(path, k), m[k], vd.Message())
				}
			}
		}
	case fd.Message() == nil:
	case fd.IsList():
		if l, ok := v.([]any); ok {
			for i, e := range l {
				c.message(joinKey(path, fmt.Sprint(i)), e, fd.Message())
			}
		}
	default:
		c.message(path, v, fd.Message())
	}
}

// nearest returns the known key closest to key, ignoring case, or "" when
// none is close enough to be a likely intent. A known key is close when
// the edit distance is at most half the longer word ("timeuot", "timeout"),
// or when it is shorter and within half its length of key's start, as for
// an abbreviation ("adress", "addr"); "zzz" suggests nothing.
func nearest(key string, known []string) string {
	best, bestDist := "", -1
	lk := strings.ToLower(key)
	slices.Sort(known) // ties go to the first in sorted order
	for _, k := range known {
		lc := strings.ToLower(k)
		d := distance(lk, lc)
		if 2*d > max(len(lk), len(lc)) {
			d = -1
		}
		if len(lk) > len(lc) {
			if p := distance(lk[:len(lc)], lc); 2*p <= len(lc) && (d < 0 || p < d) {
				d = p
			}
		}
		if d >= 0 && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
