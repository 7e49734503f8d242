// Package pathtpl parses google.api.http path templates and matches request
// paths against a set of them.
//
// The template syntax is:
//
//	Template = "/" [ Segments ] [ ":" Verb ] ;
//	Segments = Segment { "/" Segment } ;
//	Segment  = "*" | "**" | LITERAL | Variable ;
//	Variable = "{" FieldPath [ "=" Segments ] "}" ;
//	FieldPath = IDENT { "." IDENT } ;
//	Verb     = LITERAL ;
//
// "*" matches one non-empty path segment and "**" zero or more segments;
// "**" may only be the last segment. {id} is short for {id=*}. A trailing
// "/" is kept as an empty last segment, so "/a/" and "/a" are different
// templates, and "/" matches the root path only.
//
// Templates are parsed once, at route registration; Tree.Match then finds
// the route of a path without allocating.
package pathtpl

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the kind of a template segment.
type Kind uint8

// The segment kinds.
const (
	// Literal matches one segment equal to Segment.Literal.
	Literal Kind = iota
	// Wildcard ("*") matches one non-empty segment.
	Wildcard
	// DoubleWildcard ("**") matches the rest of the path, possibly nothing.
	DoubleWildcard
)

// Segment is one segment of a parsed template.
type Segment struct {
	// Kind is what the segment matches.
	Kind Kind
	// Literal is the unescaped literal of a Literal segment.
	Literal string
}

// Variable is a template variable: the segments [Start, End) of the path are
// its value. End is -1 when the variable ends with "**" and so covers the
// rest of the path.
type Variable struct {
	// Name is the field path, such as "id" or "book.name".
	Name       string
	Start, End int
}

// MultiSegment reports whether the variable may span several segments
// (its template is not a single "*").
func (v Variable) MultiSegment() bool { return v.End < 0 || v.End-v.Start != 1 }

// Template is a parsed path template.
type Template struct {
	// Raw is the template as given.
	Raw string
	// Segments are the path segments, variables expanded.
	Segments []Segment
	// Verb is the custom verb after ":", or "".
	Verb string
	// Variables are the template's variables in order.
	Variables []Variable
}

// Error is a template syntax error.
type Error struct {
	// Template is the template that failed to parse.
	Template string
	// Offset is the byte offset of the error in Template.
	Offset int
	// Msg describes the error.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("invalid path template %q: %s at offset %d", e.Template, e.Msg, e.Offset)
}

// MaxLen bounds the length of a template.
const MaxLen = 4096

// Parse parses a path template.
func Parse(tpl string) (*Template, error) {
	p := parser{s: tpl, t: &Template{Raw: tpl}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.t, nil
}

// MustParse is Parse that panics on error.
func MustParse(tpl string) *Template {
	t, err := Parse(tpl)
	if err != nil {
		panic(err)
	}
	return t
}

type parser struct {
	s string
	i int
	t *Template
}

func (p *parser) fail(msg string) error {
	return &Error{Template: p.s, Offset: p.i, Msg: msg}
}

func (p *parser) parse() error {
	if len(p.s) > MaxLen {
		return p.fail("template too long")
	}
	if p.s == "" || p.s[0] != '/' {
		return p.fail("template must start with \"/\"")
	}
	p.i = 1
	if p.i == len(p.s) {
		// "/": the root, one empty segment.
		p.t.Segments = append(p.t.Segments, Segment{Kind: Literal})
		return nil
	}
	if p.s[p.i] == ':' {
		return p.fail("verb without a path")
	}
	if err := p.segments(false); err != nil {
		return err
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case ':':
			p.i++
			start := p.i
			for p.i < len(p.s) && isLiteralByte(p.s[p.i]) {
				p.i++
			}
			if p.i == start {
				return p.fail("empty verb")
			}
			if p.i != len(p.s) {
				return p.fail(fmt.Sprintf("unexpected %q in verb", p.s[p.i]))
			}
			verb, err := unescapeLiteral(p.s[start:p.i])
			if err != nil {
				return &Error{Template: p.s, Offset: start, Msg: err.Error()}
			}
			p.t.Verb = verb
		default:
			return p.fail(fmt.Sprintf("unexpected %q", p.s[p.i]))
		}
	}
	segs := p.t.Segments
	for i, s := range segs {
		if s.Kind == DoubleWildcard && i != len(segs)-1 {
			return &Error{Template: p.s, Offset: 0, Msg: "\"**\" must be the last segment"}
		}
	}
	return nil
}

// segments parses Segments; inVar is true inside a variable, where a "}"
// ends them.
func (p *parser) segments(inVar bool) error {
	for {
		if err := p.segment(inVar); err != nil {
			return err
		}
		if p.i == len(p.s) || p.s[p.i] != '/' {
			return nil
		}
		p.i++
		if p.i == len(p.s) || p.s[p.i] == ':' {
			if inVar {
				return p.fail("empty segment in variable")
			}
			// Trailing slash: an empty last segment.
			p.t.Segments = append(p.t.Segments, Segment{Kind: Literal})
			return nil
		}
	}
}

func (p *parser) segment(inVar bool) error {
	if p.i == len(p.s) {
		return p.fail("missing segment")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		if inVar {
			return p.fail("nested variable")
		}
		return p.variable()
	case c == '*':
		if p.i+1 < len(p.s) && p.s[p.i+1] == '*' {
			p.i += 2
			p.t.Segments = append(p.t.Segments, Segment{Kind: DoubleWildcard})
		} else {
			p.i++
			p.t.Segments = append(p.t.Segments, Segment{Kind: Wildcard})
		}
		if p.i < len(p.s) && !isSegmentEnd(p.s[p.i]) {
			return p.fail("\"*\" must be a whole segment")
		}
		return nil
	case c == '/':
		return p.fail("empty segment")
	case isLiteralByte(c):
		start := p.i
		for p.i < len(p.s) && isLiteralByte(p.s[p.i]) {
			p.i++
		}
		if p.i < len(p.s) && !isSegmentEnd(p.s[p.i]) {
			return p.fail(fmt.Sprintf("unexpected %q", p.s[p.i]))
		}
		lit, err := unescapeLiteral(p.s[start:p.i])
		if err != nil {
			return &Error{Template: p.s, Offset: start, Msg: err.Error()}
		}
		p.t.Segments = append(p.t.Segments, Segment{Kind: Literal, Literal: lit})
		return nil
	default:
		return p.fail(fmt.Sprintf("unexpected %q", c))
	}
}

func (p *parser) variable() error {
	open := p.i
	p.i++ // '{'
	start := p.i
	for {
		if p.i == len(p.s) || !isIdentStart(p.s[p.i]) {
			return p.fail("variable name must be a field path like a.b_c")
		}
		for p.i < len(p.s) && isIdentByte(p.s[p.i]) {
			p.i++
		}
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			continue
		}
		break
	}
	name := p.s[start:p.i]
	for _, v := range p.t.Variables {
		if v.Name == name {
			return &Error{Template: p.s, Offset: open, Msg: fmt.Sprintf("duplicate variable %q", name)}
		}
	}
	first := len(p.t.Segments)
	if p.i == len(p.s) {
		return &Error{Template: p.s, Offset: open, Msg: "unclosed variable"}
	}
	switch p.s[p.i] {
	case '}':
		p.t.Segments = append(p.t.Segments, Segment{Kind: Wildcard})
	case '=':
		p.i++
		if err := p.segments(true); err != nil {
			return err
		}
		if p.i == len(p.s) || p.s[p.i] != '}' {
			return &Error{Template: p.s, Offset: open, Msg: "unclosed variable"}
		}
	default:
		return p.fail(fmt.Sprintf("unexpected %q in variable", p.s[p.i]))
	}
	p.i++ // '}'
	if p.i < len(p.s) && !isSegmentEnd(p.s[p.i]) {
		return p.fail("a variable must be a whole segment")
	}
	end := len(p.t.Segments)
	if p.t.Segments[end-1].Kind == DoubleWildcard {
		end = -1
	}
	p.t.Variables = append(p.t.Variables, Variable{Name: name, Start: first, End: end})
	return nil
}

func isSegmentEnd(c byte) bool { return c == '/' || c == ':' || c == '}' }

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentByte(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// isLiteralByte reports whether c may appear in a literal: RFC 3986 pchar
// without ":" (unreserved, sub-delims, "@") plus "%" for escapes.
func isLiteralByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '+', ',', ';', '=', '@', '%':
		return true
	}
	return false
}

var errBadEscape = errors.New("invalid percent-escape in literal")

func unescapeLiteral(s string) (string, error) {
	out, ok := Unescape(s, false)
	if !ok {
		return "", errBadEscape
	}
	return out, nil
}

// String returns the canonical form of t: variables as {name=...} unless
// they are a single "*".
func (t *Template) String() string {
	var b strings.Builder
	vi := 0
	for i := 0; i < len(t.Segments); i++ {
		b.WriteByte('/')
		if vi < len(t.Variables) && t.Variables[vi].Start == i {
			v := t.Variables[vi]
			vi++
			b.WriteByte('{')
			b.WriteString(v.Name)
			end := v.End
			if end < 0 {
				end = len(t.Segments)
			}
			if v.MultiSegment() || t.Segments[i].Kind != Wildcard {
				b.WriteByte('=')
				for j := i; j < end; j++ {
					if j > i {
						b.WriteByte('/')
					}
					writeSegment(&b, t.Segments[j])
				}
			}
			b.WriteByte('}')
			i = end - 1
			continue
		}
		writeSegment(&b, t.Segments[i])
	}
	if t.Verb != "" {
		b.WriteByte(':')
		b.WriteString(escapeLiteral(t.Verb))
	}
	return b.String()
}

func writeSegment(b *strings.Builder, s Segment) {
	switch s.Kind {
	case Wildcard:
		b.WriteByte('*')
	case DoubleWildcard:
		b.WriteString("**")
	default:
		b.WriteString(escapeLiteral(s.Literal))
	}
}

// escapeLiteral escapes every byte that may not appear in a literal.
func escapeLiteral(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isLiteralByte(c) && c != '%' {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)+8), s[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return s
	}
	return string(b)
}

// Unescape percent-decodes a path variable's raw value. When keepSlash is
// set (multi-segment variables), "%2F" stays encoded so that the value's
// segments remain distinguishable, as google.api.http specifies. It reports
// false on a malformed escape.
func Unescape(s string, keepSlash bool) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	return unescape(s, keepSlash)
}

func unescape(s string, keepSlash bool) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		d := unhex(s[i+1])<<4 | unhex(s[i+2])
		if keepSlash && d == '/' {
			b = append(b, s[i:i+3]...)
		} else {
			b = append(b, d)
		}
		i += 2
	}
	return string(b), true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
