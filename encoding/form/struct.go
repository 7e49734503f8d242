package form

import (
	"encoding"
	"encoding/base64"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxEncodeDepth bounds struct nesting when encoding, so that a pointer
// cycle is an error rather than a stack overflow.
const maxEncodeDepth = 1000

type fieldKind uint8

const (
	kindLeaf   fieldKind = iota // one value: scalar, time, text, WKT message
	kindSlice                   // slice of leaf values, one per repeated key
	kindMap                     // map of leaf values, "name[key]"
	kindStruct                  // nested struct, "name.field"
	kindProto                   // *M proto message, "name.field" or one value
)

// fieldInfo describes one settable field of a struct type.
type fieldInfo struct {
	name      string
	index     []int
	kind      fieldKind
	omitEmpty bool
	tagged    bool
	depth     int

	typ  reflect.Type // field type
	leaf *leafCodec   // kindLeaf, slice elements, map values
	key  *leafCodec   // map keys
	// kindStruct: the struct type behind any pointers.
	elem reflect.Type
	// kindProto: the message descriptor.
	md protoreflect.MessageDescriptor
}

// structInfo is the cached form view of a struct type.
type structInfo struct {
	fields []*fieldInfo // declaration order
	byName map[string]*fieldInfo
}

var structCache sync.Map // reflect.Type -> *structInfo

func getStructInfo(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si, _ := structCache.LoadOrStore(t, buildStructInfo(t))
	return si.(*structInfo)
}

// lookup finds a field by exact name, then case-insensitively.
func (si *structInfo) lookup(name string) *fieldInfo {
	if fi := si.byName[name]; fi != nil {
		return fi
	}
	for _, fi := range si.fields {
		if strings.EqualFold(fi.name, name) {
			return fi
		}
	}
	return nil
}

// buildStructInfo lists the fields of t, promoting those of embedded structs
// as encoding/json does: the shallowest field wins a name, a tagged one
// breaks a tie, and remaining ties hide the name.
func buildStructInfo(t reflect.Type) *structInfo {
	var all []*fieldInfo
	visited := map[reflect.Type]bool{}
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		if visited[t] {
			return
		}
		visited[t] = true
		defer delete(visited, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if sf.Anonymous {
				// Fields promoted through an unexported embedded struct are
				// settable, but an unexported embedded pointer cannot be
				// allocated.
				if !sf.IsExported() && (ft.Kind() != reflect.Struct || sf.Type.Kind() == reflect.Pointer) {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			name, omitEmpty, tagged, skip := parseTag(sf)
			if skip {
				continue
			}
			idx := append(slices.Clip(index), i)
			if sf.Anonymous && !tagged && ft.Kind() == reflect.Struct && newLeaf(sf.Type) == nil && !isMessage(sf.Type) {
				walk(ft, idx, depth+1)
				continue
			}
			fi := newFieldInfo(sf.Type)
			if fi == nil {
				continue
			}
			fi.name, fi.index, fi.omitEmpty, fi.tagged, fi.depth = name, idx, omitEmpty, tagged, depth
			all = append(all, fi)
		}
	}
	walk(t, nil, 0)

	byName := make(map[string][]*fieldInfo)
	for _, fi := range all {
		byName[fi.name] = append(byName[fi.name], fi)
	}
	si := &structInfo{byName: make(map[string]*fieldInfo, len(byName))}
	for _, fi := range all {
		if winner := dominant(byName[fi.name]); winner == fi {
			si.fields = append(si.fields, fi)
			si.byName[fi.name] = fi
		}
	}
	return si
}

func dominant(cands []*fieldInfo) *fieldInfo {
	var best []*fieldInfo
	for _, fi := range cands {
		switch {
		case len(best) == 0 || fi.depth < best[0].depth:
			best = append(best[:0], fi)
		case fi.depth == best[0].depth:
			best = append(best, fi)
		}
	}
	if len(best) == 1 {
		return best[0]
	}
	var tagged *fieldInfo
	for _, fi := range best {
		if fi.tagged {
			if tagged != nil {
				return nil
			}
			tagged = fi
		}
	}
	return tagged
}

// parseTag reads the form tag, or failing that the json tag.
func parseTag(sf reflect.StructField) (name string, omitEmpty, tagged, skip bool) {
	tag, ok := sf.Tag.Lookup("form")
	if !ok {
		tag, ok = sf.Tag.Lookup("json")
	}
	if tag == "-" {
		return "", false, false, true
	}
	name, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == "omitempty" {
			omitEmpty = true
		}
	}
	if name == "" {
		return sf.Name, omitEmpty, false, false
	}
	return name, omitEmpty, ok, false
}

// newFieldInfo classifies a field type, or returns nil if it is unsupported.
func newFieldInfo(t reflect.Type) *fieldInfo {
	fi := &fieldInfo{typ: t}
	switch {
	case isMessage(t):
		fi.kind = kindProto
		fi.md = reflect.Zero(t).Interface().(proto.Message).ProtoReflect().Descriptor()
		fi.leaf = newLeaf(t)
	case newLeaf(t) != nil:
		fi.kind, fi.leaf = kindLeaf, newLeaf(t)
	case t.Kind() == reflect.Slice:
		fi.kind, fi.leaf = kindSlice, newLeaf(t.Elem())
		if fi.leaf == nil {
			return nil
		}
	case t.Kind() == reflect.Map:
		fi.kind, fi.key, fi.leaf = kindMap, newKeyLeaf(t.Key()), newLeaf(t.Elem())
		if fi.key == nil || fi.leaf == nil {
			return nil
		}
	default:
		et := t
		for et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if et.Kind() != reflect.Struct {
			return nil
		}
		fi.kind, fi.elem = kindStruct, et
	}
	return fi
}

// isMessage reports whether t is a pointer type implementing proto.Message.
func isMessage(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && t.Implements(messageType)
}

// leafCodec reads and writes one value of a type.
type leafCodec struct {
	name string // type name for errors
	// acceptsEmpty is set when an empty value is meaningful for the type;
	// otherwise empty values are skipped.
	acceptsEmpty bool
	// decode sets the addressable v from s.
	decode func(v reflect.Value, key, s string) error
	// encode formats v; ok is false if v has no value to write.
	encode func(v reflect.Value) (s string, ok bool, err error)
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

var leafCache sync.Map // reflect.Type -> *leafCodec, or nil stored as (*leafCodec)(nil)

// newLeaf returns the codec for a single-value type, or nil.
func newLeaf(t reflect.Type) *leafCodec {
	if c, ok := leafCache.Load(t); ok {
		return c.(*leafCodec)
	}
	c, _ := leafCache.LoadOrStore(t, buildLeaf(t))
	return c.(*leafCodec)
}

func buildLeaf(t reflect.Type) *leafCodec {
	name := t.String()
	switch {
	case t == timeType:
		return &leafCodec{
			name: name,
			decode: func(v reflect.Value, key, s string) error {
				tm, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					return invalidValue(key, s, "time.Time")
				}
				v.Set(reflect.ValueOf(tm))
				return nil
			},
			encode: func(v reflect.Value) (string, bool, error) {
				return v.Interface().(time.Time).Format(time.RFC3339Nano), true, nil
			},
		}
	case t == durationType:
		return &leafCodec{
			name: name,
			decode: func(v reflect.Value, key, s string) error {
				d, err := time.ParseDuration(s)
				if err != nil {
					return invalidValue(key, s, "time.Duration")
				}
				v.SetInt(int64(d))
				return nil
			},
			encode: func(v reflect.Value) (string, bool, error) {
				return time.Duration(v.Int()).String(), true, nil
			},
		}
	case isMessage(t):
		return messageLeaf(t)
	case t.Kind() == reflect.Pointer:
		inner := newLeaf(t.Elem())
		if inner == nil {
			return nil
		}
		return &leafCodec{
			name:         name,
			acceptsEmpty: inner.acceptsEmpty,
			decode: func(v reflect.Value, key, s string) error {
				if v.IsNil() {
					v.Set(reflect.New(t.Elem()))
				}
				return inner.decode(v.Elem(), key, s)
			},
			encode: func(v reflect.Value) (string, bool, error) {
				if v.IsNil() {
					return "", false, nil
				}
				return inner.encode(v.Elem())
			},
		}
	case reflect.PointerTo(t).Implements(textUnmarshalerType) &&
		(t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)):
		return &leafCodec{
			name:         name,
			acceptsEmpty: true,
			decode: func(v reflect.Value, key, s string) error {
				if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
					return fmt.Errorf("%w: %v", invalidValue(key, s, name), err)
				}
				return nil
			},
			encode: func(v reflect.Value) (string, bool, error) {
				if !v.CanAddr() {
					c := reflect.New(t).Elem()
					c.Set(v)
					v = c
				}
				b, err := v.Addr().Interface().(encoding.TextMarshaler).MarshalText()
				if err != nil {
					return "", false, fmt.Errorf("form: marshal %s: %w", name, err)
				}
				return string(b), true, nil
			},
		}
	}
	return basicLeaf(t)
}

// basicLeaf handles types by their kind: strings, bools, numbers, []byte.
func basicLeaf(t reflect.Type) *leafCodec {
	name := t.String()
	c := &leafCodec{name: name}
	switch t.Kind() {
	case reflect.String:
		c.acceptsEmpty = true
		c.decode = func(v reflect.Value, _, s string) error { v.SetString(s); return nil }
		c.encode = func(v reflect.Value) (string, bool, error) { return v.String(), true, nil }
	case reflect.Bool:
		c.decode = func(v reflect.Value, key, s string) error {
			b, ok := parseBool(s)
			if !ok {
				return invalidValue(key, s, name)
			}
			v.SetBool(b)
			return nil
		}
		c.encode = func(v reflect.Value) (string, bool, error) { return strconv.FormatBool(v.Bool()), true, nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		c.decode = func(v reflect.Value, key, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return invalidValue(key, s, name)
			}
			v.SetInt(n)
			return nil
		}
		c.encode = func(v reflect.Value) (string, bool, error) { return strconv.FormatInt(v.Int(), 10), true, nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := t.Bits()
		c.decode = func(v reflect.Value, key, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return invalidValue(key, s, name)
			}
			v.SetUint(n)
			return nil
		}
		c.encode = func(v reflect.Value) (string, bool, error) { return strconv.FormatUint(v.Uint(), 10), true, nil }
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		c.decode = func(v reflect.Value, key, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return invalidValue(key, s, name)
			}
			v.SetFloat(f)
			return nil
		}
		c.encode = func(v reflect.Value) (string, bool, error) {
			return strconv.FormatFloat(v.Float(), 'g', -1, bits), true, nil
		}
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Uint8 {
			return nil
		}
		c.acceptsEmpty = true
		c.decode = func(v reflect.Value, key, s string) error {
			b, err := decodeBase64(s)
			if err != nil {
				return invalidValue(key, s, "base64 "+name)
			}
			v.SetBytes(b)
			return nil
		}
		c.encode = func(v reflect.Value) (string, bool, error) {
			return base64.RawURLEncoding.EncodeToString(v.Bytes()), true, nil
		}
	default:
		return nil
	}
	return c
}

// newKeyLeaf returns the codec for map keys, which are basic kinds only.
func newKeyLeaf(t reflect.Type) *leafCodec {
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return basicLeaf(t)
	}
	return nil
}

// messageLeaf handles *M proto messages that have a single-value form.
func messageLeaf(t reflect.Type) *leafCodec {
	md := reflect.Zero(t).Interface().(proto.Message).ProtoReflect().Descriptor()
	return &leafCodec{
		name:         string(md.FullName()),
		acceptsEmpty: emptyMessageOK(md.FullName()),
		decode: func(v reflect.Value, key, s string) error {
			nv := reflect.New(t.Elem())
			if err := setMessage(nv.Interface().(proto.Message).ProtoReflect(), key, s); err != nil {
				return err
			}
			v.Set(nv)
			return nil
		},
		encode: func(v reflect.Value) (string, bool, error) {
			if v.IsNil() {
				return "", false, nil
			}
			s, ok := formatMessage(v.Interface().(proto.Message).ProtoReflect())
			return s, ok, nil
		},
	}
}

// decodeStruct applies vals to the addressable struct rv in sorted key order.
func decodeStruct(rv reflect.Value, vals url.Values) error {
	var buf [16]string
	keys := buf[:0]
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	si := getStructInfo(rv.Type())
	for _, k := range keys {
		if err := decodeStructKey(rv, si, k, vals[k]); err != nil {
			return err
		}
	}
	return nil
}

// decodeStructKey sets the field named by key in rv, whose info is si.
func decodeStructKey(rv reflect.Value, si *structInfo, key string, values []string) error {
	if len(values) == 0 {
		return nil
	}
	path := key
	if strings.IndexByte(path, '.') >= 0 {
		// Check the whole path before allocating nested structs.
		known, err := resolveStruct(si, key, path)
		if !known || err != nil {
			return err
		}
	}
	for {
		e, ok := cutElem(path)
		if !ok {
			return nil
		}
		fi := si.lookup(e.name)
		if fi == nil {
			return nil
		}
		fv := fieldAlloc(rv, fi.index)
		if !e.more {
			return fi.set(fv, key, e, values)
		}
		switch fi.kind {
		case kindStruct:
			for fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv.Set(reflect.New(fv.Type().Elem()))
				}
				fv = fv.Elem()
			}
			rv, si, path = fv, getStructInfo(fi.elem), e.rest
		case kindProto:
			if e.hasKey {
				return nil // rejected by resolveStruct
			}
			if fv.IsNil() {
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			return decodeProtoKey(fv.Interface().(proto.Message).ProtoReflect(), key, e.rest, values)
		default:
			return nil // rejected by resolveStruct
		}
	}
}

// resolveStruct reports whether path names a field of the struct si, and
// returns an error if it names a known field in a way that cannot be set.
func resolveStruct(si *structInfo, key, path string) (bool, error) {
	for {
		e, ok := cutElem(path)
		if !ok {
			return false, nil
		}
		fi := si.lookup(e.name)
		if fi == nil {
			return false, nil
		}
		if e.hasKey != (fi.kind == kindMap) {
			if e.hasKey {
				return false, fieldError(key, "%q is not a map field", e.name)
			}
			return false, fieldError(key, "map field %q needs a key, as in %q", e.name, e.name+"[key]")
		}
		if !e.more {
			if fi.kind == kindStruct {
				return false, fieldError(key, "cannot set struct %s from a single value; set its fields as %q", fi.elem, key+".field")
			}
			return true, nil
		}
		switch fi.kind {
		case kindStruct:
			si, path = getStructInfo(fi.elem), e.rest
		case kindProto:
			return resolveProto(fi.md, key, e.rest)
		default:
			return false, fieldError(key, "%s field %q has no subfields", fi.typ, e.name)
		}
	}
}

// fieldAlloc returns the field at index, allocating nil embedded pointers on
// the way.
func fieldAlloc(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// set stores values into the field value fv.
func (fi *fieldInfo) set(fv reflect.Value, key string, e elem, values []string) error {
	switch fi.kind {
	case kindLeaf, kindProto:
		if e.hasKey {
			return fieldError(key, "%q is not a map field", e.name)
		}
		s := values[0]
		if s == "" && !fi.leaf.acceptsEmpty {
			return nil
		}
		return fi.leaf.decode(fv, key, s)
	case kindSlice:
		if e.hasKey {
			return fieldError(key, "%q is not a map field", e.name)
		}
		n := fv.Len()
		for _, s := range values {
			if s == "" && !fi.leaf.acceptsEmpty {
				continue
			}
			if n == fv.Cap() {
				fv.Grow(len(values))
			}
			fv.SetLen(n + 1)
			ev := fv.Index(n)
			ev.SetZero()
			if err := fi.leaf.decode(ev, key, s); err != nil {
				fv.SetLen(n)
				return err
			}
			n++
		}
		return nil
	case kindMap:
		if !e.hasKey {
			return fieldError(key, "map field %q needs a key, as in %q", e.name, e.name+"[key]")
		}
		kv := reflect.New(fi.typ.Key()).Elem()
		if fi.key.decode(kv, key, e.key) != nil {
			return fieldError(key, "invalid map key %q for %s", clip(e.key), fi.key.name)
		}
		s := values[0]
		if s == "" && !fi.leaf.acceptsEmpty {
			return nil
		}
		vv := reflect.New(fi.typ.Elem()).Elem()
		if err := fi.leaf.decode(vv, key, s); err != nil {
			return err
		}
		if fv.IsNil() {
			fv.Set(reflect.MakeMap(fi.typ))
		}
		fv.SetMapIndex(kv, vv)
		return nil
	default:
		return fieldError(key, "cannot set struct %s from a single value; set its fields as %q", fi.elem, key+".field")
	}
}

// encodeStruct adds the fields of the addressable struct rv to out.
func encodeStruct(rv reflect.Value, prefix string, out url.Values, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("form: encode %s: nesting deeper than %d, is there a pointer cycle?", rv.Type(), maxEncodeDepth)
	}
	for _, fi := range getStructInfo(rv.Type()).fields {
		fv, ok := fieldNoAlloc(rv, fi.index)
		if !ok || fi.omitEmpty && fv.IsZero() {
			continue
		}
		key := prefix + fi.name
		switch fi.kind {
		case kindLeaf:
			if err := addLeaf(out, key, fi.leaf, fv); err != nil {
				return err
			}
		case kindSlice:
			for i := range fv.Len() {
				if err := addLeaf(out, key, fi.leaf, fv.Index(i)); err != nil {
					return err
				}
			}
		case kindMap:
			iter := fv.MapRange()
			for iter.Next() {
				ks, _, _ := fi.key.encode(iter.Key())
				if strings.Contains(ks, "].") {
					return fieldError(key, "map key %q cannot be written as a form key", clip(ks))
				}
				if err := addLeaf(out, key+"["+ks+"]", fi.leaf, iter.Value()); err != nil {
					return err
				}
			}
		case kindStruct:
			for fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					break
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Pointer {
				continue
			}
			if err := encodeStruct(fv, key+".", out, depth+1); err != nil {
				return err
			}
		case kindProto:
			if fv.IsNil() {
				continue
			}
			if err := encodeMessage(fv.Interface().(proto.Message).ProtoReflect(), key, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func addLeaf(out url.Values, key string, c *leafCodec, v reflect.Value) error {
	s, ok, err := c.encode(v)
	if err != nil {
		return fmt.Errorf("form: field %q: %w", key, err)
	}
	if ok {
		out.Add(key, s)
	}
	return nil
}

// fieldNoAlloc returns the field at index, or false if it is behind a nil
// embedded pointer.
func fieldNoAlloc(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}
