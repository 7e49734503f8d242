package form

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Well-known type names. The messages are handled through protoreflect by
// field number, so generated and dynamic messages both work.
const (
	timestampName = "google.protobuf.Timestamp"
	durationName  = "google.protobuf.Duration"
	fieldMaskName = "google.protobuf.FieldMask"
	structName    = "google.protobuf.Struct"
	listValueName = "google.protobuf.ListValue"
	valueName     = "google.protobuf.Value"
	emptyName     = "google.protobuf.Empty"
)

// Timestamp and Duration limits, as enforced by protojson.
const (
	minTimestamp = -62135596800 // 0001-01-01T00:00:00Z
	maxTimestamp = 253402300799 // 9999-12-31T23:59:59Z
	maxDuration  = 315576000000 // 10,000 years
)

func isWrapper(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue",
		"google.protobuf.Int64Value", "google.protobuf.UInt64Value",
		"google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue",
		"google.protobuf.BytesValue":
		return true
	}
	return false
}

// emptyMessageOK reports whether an empty value means something for a
// message of the named type.
func emptyMessageOK(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.StringValue", "google.protobuf.BytesValue", fieldMaskName, valueName, emptyName:
		return true
	}
	return false
}

// setMessage sets the fresh message m from the single value s, which only
// well-known types accept.
func setMessage(m protoreflect.Message, key, s string) error {
	md := m.Descriptor()
	fields := md.Fields()
	name := md.FullName()
	switch {
	case name == timestampName:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || t.Unix() < minTimestamp || t.Unix() > maxTimestamp {
			return invalidValue(key, s, timestampName)
		}
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(t.Unix()))
		m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
	case name == durationName:
		secs, nanos, ok := parseDuration(s)
		if !ok {
			return invalidValue(key, s, durationName)
		}
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(secs))
		m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(nanos))
	case isWrapper(name):
		fd := fields.ByNumber(1)
		v, ok := scalarValue(fd, s)
		if !ok {
			return invalidValue(key, s, string(name))
		}
		m.Set(fd, v)
	case name == fieldMaskName:
		if !utf8.ValidString(s) {
			return invalidValue(key, s, fieldMaskName)
		}
		list := m.Mutable(fields.ByNumber(1)).List()
		for s != "" {
			var p string
			p, s, _ = strings.Cut(s, ",")
			if p != "" {
				list.Append(protoreflect.ValueOfString(camelToSnake(p)))
			}
		}
	case name == structName, name == listValueName:
		if err := protojson.Unmarshal([]byte(s), m.Interface()); err != nil {
			return invalidValue(key, s, string(name))
		}
	case name == valueName:
		if protojson.Unmarshal([]byte(s), m.Interface()) != nil {
			if !utf8.ValidString(s) {
				return invalidValue(key, s, valueName)
			}
			m.Set(fields.ByNumber(3), protoreflect.ValueOfString(s)) // string_value
		}
	case name == emptyName:
	default:
		return fieldError(key, "cannot set message %s from a single value; set its fields as %q", name, key+".field")
	}
	return nil
}

// formatMessage returns the single-value form of a well-known type, or false
// if m has none or holds a value out of its valid range; such messages are
// then written field by field.
func formatMessage(m protoreflect.Message) (string, bool) {
	md := m.Descriptor()
	fields := md.Fields()
	name := md.FullName()
	switch {
	case name == timestampName:
		secs := m.Get(fields.ByNumber(1)).Int()
		nanos := m.Get(fields.ByNumber(2)).Int()
		if secs < minTimestamp || secs > maxTimestamp || nanos < 0 || nanos >= 1e9 {
			return "", false
		}
		return time.Unix(secs, nanos).UTC().Format(time.RFC3339Nano), true
	case name == durationName:
		return formatDuration(m.Get(fields.ByNumber(1)).Int(), m.Get(fields.ByNumber(2)).Int())
	case isWrapper(name):
		fd := fields.ByNumber(1)
		return formatScalar(fd, m.Get(fd)), true
	case name == fieldMaskName:
		list := m.Get(fields.ByNumber(1)).List()
		var b strings.Builder
		for i := range list.Len() {
			p := list.Get(i).String()
			c := snakeToCamel(p)
			// Paths that would not read back the same are written raw.
			if p == "" || strings.IndexByte(p, ',') >= 0 || camelToSnake(c) != p {
				return "", false
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(c)
		}
		return b.String(), true
	case name == structName, name == listValueName, name == valueName:
		b, err := protojson.Marshal(m.Interface())
		if err != nil {
			return "", false
		}
		return string(b), true
	case name == emptyName:
		return "", true
	}
	return "", false
}

// parseDuration parses the protojson form ("-1.5s") or, failing that,
// time.ParseDuration syntax.
func parseDuration(s string) (secs int64, nanos int32, ok bool) {
	secs, nanos, ok = parseSeconds(s)
	if !ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, 0, false
		}
		secs, nanos = int64(d/time.Second), int32(d%time.Second)
	}
	return secs, nanos, secs >= -maxDuration && secs <= maxDuration
}

// parseSeconds parses decimal seconds with up to nine fractional digits
// followed by "s".
func parseSeconds(s string) (secs int64, nanos int32, ok bool) {
	s, ok = strings.CutSuffix(s, "s")
	if !ok {
		return 0, 0, false
	}
	s, neg := strings.CutPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !digits(whole) || hasFrac && (!digits(frac) || len(frac) > 9) {
		return 0, 0, false
	}
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if hasFrac {
		n, _ := strconv.Atoi(frac)
		for range 9 - len(frac) {
			n *= 10
		}
		nanos = int32(n)
	}
	if neg {
		secs, nanos = -secs, -nanos
	}
	return secs, nanos, true
}

// digits reports whether s is a non-empty run of ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatDuration writes a valid Duration as protojson does: seconds with 0,
// 3, 6 or 9 fractional digits and an "s" suffix.
func formatDuration(secs, nanos int64) (string, bool) {
	if secs < -maxDuration || secs > maxDuration || nanos <= -1e9 || nanos >= 1e9 ||
		secs > 0 && nanos < 0 || secs < 0 && nanos > 0 {
		return "", false
	}
	var buf [32]byte
	b := buf[:0]
	if secs < 0 || nanos < 0 {
		b = append(b, '-')
		secs, nanos = -secs, -nanos
	}
	b = strconv.AppendInt(b, secs, 10)
	if nanos != 0 {
		var fb [10]byte
		f := strconv.AppendInt(fb[:0], nanos+1e9, 10)[1:] // nine digits
		for len(f) > 3 && string(f[len(f)-3:]) == "000" {
			f = f[:len(f)-3]
		}
		b = append(b, '.')
		b = append(b, f...)
	}
	b = append(b, 's')
	return string(b), true
}

// camelToSnake turns a FieldMask path in JSON form ("user.displayName") into
// proto form ("user.display_name"). Paths with an underscore are taken to be
// in proto form already.
func camelToSnake(p string) string {
	if strings.IndexByte(p, '_') >= 0 || !hasUpper(p) {
		return p
	}
	var b strings.Builder
	b.Grow(len(p) + 4)
	for i := range len(p) {
		c := p[i]
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// snakeToCamel turns a FieldMask path in proto form into JSON form.
func snakeToCamel(p string) string {
	if strings.IndexByte(p, '_') < 0 {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	upper := false
	for i := range len(p) {
		c := p[i]
		switch {
		case c == '_':
			upper = true
			continue
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		upper = false
		b.WriteByte(c)
	}
	return b.String()
}

func hasUpper(s string) bool {
	for i := range len(s) {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
