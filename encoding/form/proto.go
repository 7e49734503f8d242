package form

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// decodeProto applies vals to m, key by key in sorted order.
func decodeProto(m protoreflect.Message, vals url.Values) error {
	var buf [16]string
	keys := buf[:0]
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := decodeProtoKey(m, k, k, vals[k]); err != nil {
			return err
		}
	}
	return nil
}

// decodeProtoKey sets the field of m named by path; key is the full key,
// for error messages.
func decodeProtoKey(m protoreflect.Message, key, path string, values []string) error {
	if len(values) == 0 {
		return nil
	}
	if strings.IndexByte(path, '.') >= 0 {
		// Check the whole path before creating intermediate messages, so
		// that an unknown key leaves m untouched.
		known, err := resolveProto(m.Descriptor(), key, path)
		if !known || err != nil {
			return err
		}
	}
	for {
		e, ok := cutElem(path)
		if !ok {
			return nil
		}
		fd := lookupField(m.Descriptor(), e.name)
		if fd == nil {
			return nil
		}
		if !e.more {
			return setProtoField(m, fd, key, e, values)
		}
		if e.hasKey {
			if !fd.IsMap() || fd.MapValue().Message() == nil {
				return nil // rejected by resolveProto
			}
			mk, err := parseMapKey(fd.MapKey(), key, e.key)
			if err != nil {
				return err
			}
			m = m.Mutable(fd).Map().Mutable(mk).Message()
		} else {
			if fd.IsMap() || fd.IsList() || fd.Message() == nil {
				return nil // rejected by resolveProto
			}
			m = m.Mutable(fd).Message()
		}
		path = e.rest
	}
}

// resolveProto reports whether path names a field under md, and returns an
// error if it names a known field in a way that cannot be set.
func resolveProto(md protoreflect.MessageDescriptor, key, path string) (bool, error) {
	for {
		e, ok := cutElem(path)
		if !ok {
			return false, nil
		}
		fd := lookupField(md, e.name)
		if fd == nil {
			return false, nil
		}
		if e.hasKey && !fd.IsMap() {
			return false, fieldError(key, "%q is not a map field", e.name)
		}
		if fd.IsMap() && !e.hasKey {
			return false, fieldError(key, "map field %q needs a key, as in %q", e.name, e.name+"[key]")
		}
		if !e.more {
			return true, nil
		}
		switch {
		case fd.IsMap():
			md = fd.MapValue().Message()
			if md == nil {
				return false, fieldError(key, "values of map field %q are not messages", e.name)
			}
		case fd.IsList():
			return false, fieldError(key, "cannot address into repeated field %q", e.name)
		case fd.Message() != nil:
			md = fd.Message()
		default:
			return false, fieldError(key, "%s field %q has no subfields", typeName(fd), e.name)
		}
		path = e.rest
	}
}

// lookupField finds a field by proto name, then by JSON name.
func lookupField(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	if fd := fields.ByName(protoreflect.Name(name)); fd != nil {
		return fd
	}
	return fields.ByJSONName(name)
}

// setProtoField sets the leaf field fd of m from values.
func setProtoField(m protoreflect.Message, fd protoreflect.FieldDescriptor, key string, e elem, values []string) error {
	switch {
	case fd.IsMap():
		if !e.hasKey {
			return fieldError(key, "map field %q needs a key, as in %q", e.name, e.name+"[key]")
		}
		mk, err := parseMapKey(fd.MapKey(), key, e.key)
		if err != nil {
			return err
		}
		vd, s := fd.MapValue(), values[0]
		if skipEmpty(vd, s) {
			return nil
		}
		mp := m.Mutable(fd).Map()
		if vd.Message() != nil {
			mv := mp.NewValue()
			if err := setMessage(mv.Message(), key, s); err != nil {
				return err
			}
			mp.Set(mk, mv)
			return nil
		}
		v, err := parseScalar(vd, key, s)
		if err != nil {
			return err
		}
		mp.Set(mk, v)
		return nil
	case e.hasKey:
		return fieldError(key, "%q is not a map field", e.name)
	case fd.IsList():
		var list protoreflect.List
		for _, s := range values {
			if skipEmpty(fd, s) {
				continue
			}
			if list == nil {
				list = m.Mutable(fd).List()
			}
			if fd.Message() != nil {
				v := list.NewElement()
				if err := setMessage(v.Message(), key, s); err != nil {
					return err
				}
				list.Append(v)
				continue
			}
			v, err := parseScalar(fd, key, s)
			if err != nil {
				return err
			}
			list.Append(v)
		}
		return nil
	case fd.Message() != nil:
		s := values[0]
		if skipEmpty(fd, s) {
			return nil
		}
		v := m.NewField(fd)
		if err := setMessage(v.Message(), key, s); err != nil {
			return err
		}
		m.Set(fd, v)
		return nil
	default:
		s := values[0]
		if skipEmpty(fd, s) {
			return nil
		}
		v, err := parseScalar(fd, key, s)
		if err != nil {
			return err
		}
		m.Set(fd, v)
		return nil
	}
}

// skipEmpty reports whether s is empty and fd has no meaning for empty text.
func skipEmpty(fd protoreflect.FieldDescriptor, s string) bool {
	if s != "" {
		return false
	}
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return false
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return !emptyMessageOK(fd.Message().FullName())
	}
	return true
}

// typeName names the type of fd in error messages.
func typeName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return "enum " + string(fd.Enum().FullName())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(fd.Message().FullName())
	}
	return fd.Kind().String()
}

func parseMapKey(fd protoreflect.FieldDescriptor, key, s string) (protoreflect.MapKey, error) {
	v, ok := scalarValue(fd, s)
	if !ok {
		return protoreflect.MapKey{}, fieldError(key, "invalid map key %q for %s", clip(s), typeName(fd))
	}
	return v.MapKey(), nil
}

func parseScalar(fd protoreflect.FieldDescriptor, key, s string) (protoreflect.Value, error) {
	v, ok := scalarValue(fd, s)
	if !ok {
		return v, invalidValue(key, s, typeName(fd))
	}
	return v, nil
}

// scalarValue parses s as a value of the scalar or enum field fd.
func scalarValue(fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		b, ok := parseBool(s)
		return protoreflect.ValueOfBool(b), ok
	case protoreflect.EnumKind:
		ed := fd.Enum()
		if ev := ed.Values().ByName(protoreflect.Name(s)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), true
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || ed.IsClosed() && ed.Values().ByNumber(protoreflect.EnumNumber(n)) == nil {
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfInt32(int32(n)), err == nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		return protoreflect.ValueOfInt64(n), err == nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(s, 10, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err == nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(s, 10, 64)
		return protoreflect.ValueOfUint64(n), err == nil
	case protoreflect.FloatKind:
		f, err := strconv.ParseFloat(s, 32)
		return protoreflect.ValueOfFloat32(float32(f)), err == nil
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(s, 64)
		return protoreflect.ValueOfFloat64(f), err == nil
	case protoreflect.StringKind:
		if enforceUTF8(fd) && !utf8.ValidString(s) {
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfString(s), true
	case protoreflect.BytesKind:
		b, err := decodeBase64(s)
		return protoreflect.ValueOfBytes(b), err == nil
	}
	return protoreflect.Value{}, false
}

// enforceUTF8 reports whether string field fd must hold valid UTF-8, which
// is the case for proto3 and editions unless the file opts out.
func enforceUTF8(fd protoreflect.FieldDescriptor) bool {
	if x, ok := fd.(interface{ EnforceUTF8() bool }); ok {
		return x.EnforceUTF8()
	}
	return fd.Syntax() != protoreflect.Proto2
}

// parseBool accepts the strconv.ParseBool forms and the "on"/"off" sent by
// HTML checkboxes.
func parseBool(s string) (bool, bool) {
	switch s {
	case "on":
		return true, true
	case "off":
		return false, true
	}
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, as
// protojson does.
func decodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		if enc == base64.StdEncoding {
			enc = base64.RawStdEncoding
		} else {
			enc = base64.RawURLEncoding
		}
	}
	return enc.DecodeString(s)
}

// encodeProto adds the populated fields of m to out, with keys prefixed by
// prefix.
func encodeProto(m protoreflect.Message, prefix string, out url.Values) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() {
			return true
		}
		err = encodeProtoField(fd, v, prefix+fd.JSONName(), out)
		return err == nil
	})
	return err
}

func encodeProtoField(fd protoreflect.FieldDescriptor, v protoreflect.Value, key string, out url.Values) error {
	switch {
	case fd.IsMap():
		var err error
		kd, vd := fd.MapKey(), fd.MapValue()
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			ks := formatScalar(kd, k.Value())
			if strings.Contains(ks, "].") {
				err = fieldError(key, "map key %q cannot be written as a form key", clip(ks))
				return false
			}
			name := key + "[" + ks + "]"
			if vd.Message() != nil {
				err = encodeMessage(mv.Message(), name, out)
			} else {
				out.Add(name, formatScalar(vd, mv))
			}
			return err == nil
		})
		return err
	case fd.IsList():
		list := v.List()
		for i := range list.Len() {
			if fd.Message() != nil {
				// Only messages with a single-value form can be repeated.
				if s, ok := formatMessage(list.Get(i).Message()); ok {
					out.Add(key, s)
				}
				continue
			}
			out.Add(key, formatScalar(fd, list.Get(i)))
		}
		return nil
	case fd.Message() != nil:
		return encodeMessage(v.Message(), key, out)
	default:
		out.Add(key, formatScalar(fd, v))
		return nil
	}
}

// encodeMessage writes a message field: a well-known type as one value,
// anything else field by field.
func encodeMessage(m protoreflect.Message, key string, out url.Values) error {
	if s, ok := formatMessage(m); ok {
		out.Add(key, s)
		return nil
	}
	return encodeProto(m, key+".", out)
}

// formatScalar formats a scalar or enum value so that scalarValue parses it
// back.
func formatScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.FormatInt(int64(v.Enum()), 10)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	case protoreflect.FloatKind:
		return strconv.FormatFloat(v.Float(), 'g', -1, 32)
	case protoreflect.DoubleKind:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return base64.RawURLEncoding.EncodeToString(v.Bytes())
	}
	return v.String()
}
