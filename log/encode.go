package log

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file holds the append-based formatting shared by the logfmt and JSON
// loggers. Common types are formatted with strconv directly into the pooled
// record buffer; fmt and encoding/json are only fallbacks.

// timeLayout is used for time.Time values in records.
const timeLayout = time.RFC3339Nano

// appendLevel appends the name of level, or its number if it has none.
func appendLevel(b []byte, level Level) []byte {
	if s := level.String(); s != "" {
		return append(b, s...)
	}
	return strconv.AppendInt(b, int64(level), 10)
}

// ---- logfmt ----

// appendTextKey appends a logfmt key.
func appendTextKey(ctx context.Context, b []byte, key any) []byte {
	if s, ok := key.(string); ok {
		return appendTextString(b, s)
	}
	return appendTextValue(ctx, b, key)
}

// appendTextString appends s, quoted if logfmt requires it.
func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// appendTextValue appends v in logfmt.
func appendTextValue(ctx context.Context, b []byte, v any) []byte {
	if s, ok := v.(string); ok {
		return appendTextString(b, s)
	}
	start := len(b)
	b = appendRawText(ctx, b, v)
	return requoteText(b, start)
}

// appendRawText appends the unquoted text form of v.
func appendRawText(ctx context.Context, b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return append(b, x...)
	case nil:
		return append(b, "<nil>"...)
	case Valuer:
		return appendRawText(ctx, b, x(orBackground(ctx)))
	case time.Time:
		return x.AppendFormat(b, timeLayout)
	case time.Duration:
		return appendDuration(b, x)
	case []byte:
		return append(b, x...)
	}
	if out, ok := appendScalar(b, v); ok {
		return out
	}
	return appendFallbackText(b, v)
}

// requoteText quotes b[start:] if logfmt requires it. The copy only happens
// in that rare case.
func requoteText(b []byte, start int) []byte {
	if !needsQuotingBytes(b[start:]) {
		return b
	}
	s := string(b[start:])
	return strconv.AppendQuote(b[:start], s)
}

// needsQuoting reports whether s must be quoted in logfmt: it is empty or
// contains spaces, '=', '"', control characters, or non-printable or invalid
// UTF-8.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

func needsQuotingBytes(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// ---- shared ----

// appendScalar appends numbers, booleans, errors and types that format
// themselves, in a form valid in both logfmt (unquoted) and JSON (numbers
// and booleans) — except that errors, Stringers and text appenders are
// appended raw and must be quoted by the caller. It reports false if v is
// none of these.
func appendScalar(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case int32:
		return strconv.AppendInt(b, int64(x), 10), true
	case int16:
		return strconv.AppendInt(b, int64(x), 10), true
	case int8:
		return strconv.AppendInt(b, int64(x), 10), true
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(b, x, 10), true
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uintptr:
		return strconv.AppendUint(b, uint64(x), 10), true
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64), true
	case float32:
		return strconv.AppendFloat(b, float64(x), 'g', -1, 32), true
	case bool:
		return strconv.AppendBool(b, x), true
	}
	return b, false
}

// appendFallbackText appends the text form of v: the error message, the
// encoding.TextAppender or TextMarshaler output, the Stringer output, or
// fmt's %+v. A panicking method (typically on a nil pointer) is reported in
// the output rather than crashing the program.
func appendFallbackText(b []byte, v any) (out []byte) {
	start := len(b)
	defer func() {
		if r := recover(); r != nil {
			out = appendPanic(b[:start], v, r)
		}
	}()
	switch x := v.(type) {
	case error:
		return append(b, x.Error()...)
	case encoding.TextAppender:
		if out, err := x.AppendText(b); err == nil {
			return out
		}
		b = b[:start]
	case encoding.TextMarshaler:
		if t, err := x.MarshalText(); err == nil {
			return append(b, t...)
		}
	case fmt.Stringer:
		return append(b, x.String()...)
	}
	return fmt.Appendf(b, "%+v", v)
}

// appendPanic describes a panic in a formatting method of v, like fmt does.
func appendPanic(b []byte, v any, r any) []byte {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return append(b, "<nil>"...)
	}
	return fmt.Appendf(b, "!PANIC(%T): %v", v, r)
}

// appendDuration appends d in the format of time.Duration.String, e.g.
// "1h2m3.5s", "1.5ms", "0s", without allocating.
func appendDuration(b []byte, d time.Duration) []byte {
	if d == 0 {
		return append(b, "0s"...)
	}
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = -u
	}
	if u < uint64(time.Second) {
		switch {
		case u < uint64(time.Microsecond):
			b = strconv.AppendUint(b, u, 10)
			return append(b, "ns"...)
		case u < uint64(time.Millisecond):
			b = appendFrac(b, u, 3)
			return append(b, "µs"...)
		default:
			b = appendFrac(b, u, 6)
			return append(b, "ms"...)
		}
	}
	secs := u / uint64(time.Second)
	nanos := u % uint64(time.Second)
	h, m, s := secs/3600, secs/60%60, secs%60
	if h > 0 {
		b = strconv.AppendUint(b, h, 10)
		b = append(b, 'h')
	}
	if h > 0 || m > 0 {
		b = strconv.AppendUint(b, m, 10)
		b = append(b, 'm')
	}
	b = appendFrac(b, s*uint64(time.Second)+nanos, 9)
	return append(b, 's')
}

// appendFrac appends v / 10^prec as a decimal with trailing zeros of the
// fraction removed.
func appendFrac(b []byte, v uint64, prec int) []byte {
	p := uint64(1)
	for range prec {
		p *= 10
	}
	b = strconv.AppendUint(b, v/p, 10)
	frac := v % p
	if frac == 0 {
		return b
	}
	for frac%10 == 0 {
		frac /= 10
		prec--
	}
	b = append(b, '.')
	// leading zeros of the fraction
	digits := 1
	for x := frac; x >= 10; x /= 10 {
		digits++
	}
	for range prec - digits {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, frac, 10)
}

// ---- JSON ----

// appendJSONKey appends a JSON object key.
func appendJSONKey(ctx context.Context, b []byte, key any) []byte {
	if s, ok := key.(string); ok {
		return appendJSONString(b, s)
	}
	start := len(b)
	b = appendRawText(ctx, b, key)
	return rewrapJSONString(b, start)
}

// appendJSONValue appends v as a JSON value.
func appendJSONValue(ctx context.Context, b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendJSONString(b, x)
	case nil:
		return append(b, "null"...)
	case Valuer:
		return appendJSONValue(ctx, b, x(orBackground(ctx)))
	case float64:
		return appendJSONFloat(b, x, 64)
	case float32:
		return appendJSONFloat(b, float64(x), 32)
	case time.Time:
		b = append(b, '"')
		b = x.AppendFormat(b, timeLayout)
		return append(b, '"')
	case time.Duration:
		b = append(b, '"')
		b = appendDuration(b, x)
		return append(b, '"')
	case []byte:
		return appendJSONString(b, string(x))
	case json.Marshaler:
		if _, ok := v.(error); !ok {
			return appendJSONMarshal(b, v)
		}
	}
	if out, ok := appendScalar(b, v); ok {
		return out
	}
	switch v.(type) {
	case error, encoding.TextAppender, encoding.TextMarshaler, fmt.Stringer:
		start := len(b)
		b = appendFallbackText(b, v)
		return rewrapJSONString(b, start)
	}
	return appendJSONMarshal(b, v)
}

// appendJSONMarshal appends v encoded by encoding/json, or its fmt form as a
// string if encoding/json cannot encode it.
func appendJSONMarshal(b []byte, v any) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			out = appendJSONString(b, string(appendPanic(nil, v, r)))
		}
	}()
	data, err := json.Marshal(v)
	if err == nil {
		return append(b, data...)
	}
	start := len(b)
	b = fmt.Appendf(b, "%+v", v)
	return rewrapJSONString(b, start)
}

// rewrapJSONString turns the raw text b[start:] into a JSON string.
func rewrapJSONString(b []byte, start int) []byte {
	raw := b[start:]
	if !needsJSONEscape(raw) {
		// Shift right by one to open the quote; append closes it.
		b = append(b, 0)
		copy(b[start+1:], b[start:len(b)-1])
		b[start] = '"'
		return append(b, '"')
	}
	s := string(raw)
	return appendJSONString(b[:start], s)
}

func appendJSONFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b = append(b, '"')
		b = strconv.AppendFloat(b, f, 'g', -1, bits)
		return append(b, '"')
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] is true for ASCII bytes that need no escaping in a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func needsJSONEscape(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if !jsonSafe[c] {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return true
		}
		i += size
	}
	return false
}

// appendJSONString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD; U+2028 and U+2029 are escaped so the output is also valid
// JavaScript.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
