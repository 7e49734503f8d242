package http

import (
	"net/url"
	"strings"

	"github.com/zelos-go/zelos/encoding/form"
)

// EncodeURL fills the variables of a path template ({field}, {field.sub},
// {name=shelves/*}) from msg, a proto message or struct encoded with
// form.EncodeValues, and, when needQuery is set, appends msg's other
// populated fields as a query string (keys sorted). Variable names are
// proto field names; the values are looked up under them and under their
// JSON (lowerCamelCase) names. Values are path-escaped; "/" is kept in
// multi-segment variables. A variable with no value becomes empty.
func EncodeURL(pathTemplate string, msg any, needQuery bool) string {
	var vals url.Values
	if msg != nil {
		vals, _ = form.EncodeValues(msg)
	}
	var b strings.Builder
	b.Grow(len(pathTemplate) + 16)
	rest := pathTemplate
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		name, pattern, _ := strings.Cut(rest[i+1:i+j], "=")
		v := takeValue(vals, name)
		if pattern != "" && pattern != "*" {
			for k, seg := range strings.Split(v, "/") {
				if k > 0 {
					b.WriteByte('/')
				}
				b.WriteString(url.PathEscape(seg))
			}
		} else {
			b.WriteString(url.PathEscape(v))
		}
		rest = rest[i+j+1:]
	}
	if needQuery && len(vals) > 0 {
		b.WriteByte('?')
		b.WriteString(vals.Encode())
	}
	return b.String()
}

// takeValue returns the value of a field path in vals and removes it.
func takeValue(vals url.Values, name string) string {
	for _, k := range [2]string{name, jsonPath(name)} {
		if vs, ok := vals[k]; ok {
			delete(vals, k)
			if len(vs) > 0 {
				return vs[0]
			}
			return ""
		}
	}
	return ""
}

// jsonPath converts each element of a proto field path to its JSON name,
// as protoc does: underscores are dropped and the letter after one
// upper-cased.
func jsonPath(name string) string {
	if strings.IndexByte(name, '_') < 0 {
		return name
	}
	b := make([]byte, 0, len(name))
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			upper = true
			continue
		case c == '.':
			upper = false
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
			upper = false
		default:
			upper = false
		}
		b = append(b, c)
	}
	return string(b)
}
