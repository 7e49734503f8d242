package config

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Resolver rewrites a freshly merged tree in place, after every merge and
// before the tree is published. An error rejects the new configuration: Load
// returns it, and a reload keeps the last good configuration.
type Resolver func(tree map[string]any) error

const (
	maxResolvedLen = 1 << 20  // most bytes one value may expand to
	maxExpanded    = 16 << 20 // most bytes all values may expand to together
	maxNesting     = 64       // deepest placeholder nesting inside defaults
)

// NewResolver returns the default Resolver, which expands placeholders in
// string values:
//
//	${NAME}          the value at dotted key NAME, else environment variable NAME
//	${NAME:default}  as above, falling back to default (which may hold placeholders)
//	$${...}          a literal "${...}"
//
// A value that is exactly one placeholder keeps the type of what it
// resolves to: another key's number, list or map, or a default spelled as a
// canonical literal ("true", "8080", "0.5"). An environment variable is
// converted to the type of the default when it parses as one, so
// "${PORT:8080}" is always an integer; without a default it is a string.
// Placeholders inside referenced values are expanded first; cycles, and
// placeholders that resolve to nothing and have no default, are errors
// naming the key and the placeholder's name. Errors never quote the value
// or a default, which may be a secret.
//
// Expansion is bounded, since each level of placeholders can double a
// value: one value may expand to at most 1 MiB and all values together to
// at most 16 MiB, a list or map inserted whole counting its keys and
// strings (and at least one byte per element) each time it is inserted.
// Exceeding either bound is an error naming the key.
//
// lookupEnv reads the environment; nil means os.LookupEnv.
func NewResolver(lookupEnv func(name string) (string, bool)) Resolver {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return func(tree map[string]any) error {
		r := &resolver{root: tree, env: lookupEnv, state: map[string]uint8{}}
		_, err := r.walk("", tree)
		return err
	}
}

const (
	resolving uint8 = iota + 1
	resolved
)

type resolver struct {
	root  map[string]any
	env   func(string) (string, bool)
	state map[string]uint8 // by dotted path of string values holding "$"
	total int              // bytes expanded so far, bounded by maxExpanded
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// walk resolves every string under node (found at path) and returns node's
// resolved value; maps and lists are updated in place.
func (r *resolver) walk(path string, node any) (any, error) {
	if r.state[path] == resolved {
		return node, nil
	}
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, err := r.walk(joinKey(path, k), n[k])
			if err != nil {
				return nil, err
			}
			n[k] = v
		}
	case []any:
		for i, e := range n {
			v, err := r.walk(joinKey(path, strconv.Itoa(i)), e)
			if err != nil {
				return nil, err
			}
			n[i] = v
		}
	case string:
		return r.str(path, n)
	}
	return node, nil
}

// str resolves the string s found at path.
func (r *resolver) str(path, s string) (any, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	switch r.state[path] {
	case resolving:
		return nil, fmt.Errorf("config: key %q: placeholder cycle", path)
	case resolved:
		return s, nil
	}
	r.state[path] = resolving
	v, err := r.interpolate(path, s, 0)
	if err != nil {
		return nil, err
	}
	if err := r.count(path, v); err != nil {
		return nil, err
	}
	r.state[path] = resolved
	return v, nil
}

// count adds the size of v, the expansion of the value at path, to the
// total, failing when v or the total exceeds its bound. Lists and maps
// may share elements (each "${l}" inserts the same list), so the walk
// stops at the bound instead of visiting every copy.
func (r *resolver) count(path string, v any) error {
	n := size(v, maxResolvedLen+1)
	if n > maxResolvedLen {
		return fmt.Errorf("config: key %q: expansion longer than %d bytes", path, maxResolvedLen)
	}
	r.total += n
	if r.total > maxExpanded {
		return fmt.Errorf("config: key %q: expanded values exceed %d bytes in total", path, maxExpanded)
	}
	return nil
}

// size returns the bytes of v's keys and strings, counting at least one per
// element, or some number above limit once it passes limit.
func size(v any, limit int) int {
	switch x := v.(type) {
	case string:
		return max(len(x), 1)
	case map[string]any:
		n := 1
		for k, e := range x {
			if n += len(k) + size(e, limit-n); n > limit {
				return n
			}
		}
		return n
	case []any:
		n := 1
		for _, e := range x {
			if n += size(e, limit-n); n > limit {
				return n
			}
		}
		return n
	default:
		return 8
	}
}

// key returns the resolved value at dotted key name, resolving strings on
// the way down (an ancestor may be a placeholder for a map).
func (r *resolver) key(name string) (any, bool, error) {
	var node any = r.root
	prefix := ""
	rest := name
	for {
		seg, tail, more := strings.Cut(rest, ".")
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[seg]
			if !ok {
				return nil, false, nil
			}
			prefix = joinKey(prefix, seg)
			if !more {
				v, err := r.walk(prefix, v)
				if err != nil {
					return nil, false, err
				}
				n[seg] = v
				return v, true, nil
			}
			if s, ok := v.(string); ok {
				rv, err := r.str(prefix, s)
				if err != nil {
					return nil, false, err
				}
				n[seg] = rv
				v = rv
			}
			node = v
		case []any:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(n) {
				return nil, false, nil
			}
			v := n[idx]
			prefix = joinKey(prefix, seg)
			if !more {
				v, err := r.walk(prefix, v)
				if err != nil {
					return nil, false, err
				}
				n[idx] = v
				return v, true, nil
			}
			if s, ok := v.(string); ok {
				rv, err := r.str(prefix, s)
				if err != nil {
					return nil, false, err
				}
				n[idx] = rv
				v = rv
			}
			node = v
		default:
			return nil, false, nil
		}
		rest = tail
	}
}

// interpolate expands the placeholders of s, a value (or default) at path.
// When s is exactly one placeholder the result keeps its type.
func (r *resolver) interpolate(path, s string, depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("config: key %q: placeholders nested deeper than %d", path, maxNesting)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteByte('$') // escape: "$${x}" is the literal "${x}"
			i += 2
			continue
		case !strings.HasPrefix(s[i:], "${"):
			b.WriteByte('$')
			i++
			continue
		}
		end := closing(s, i+2)
		if end < 0 {
			return nil, fmt.Errorf("config: key %q: unterminated placeholder", path)
		}
		v, err := r.placeholder(path, s[i:end+1], depth)
		if err != nil {
			return nil, err
		}
		if i == 0 && end == len(s)-1 {
			return v, nil
		}
		if err := writeScalar(&b, v); err != nil {
			return nil, fmt.Errorf("config: key %q: placeholder %q: %w", path, placeholderName(s[i:end+1]), err)
		}
		if b.Len() > maxResolvedLen {
			return nil, fmt.Errorf("config: key %q: expansion longer than %d bytes", path, maxResolvedLen)
		}
		i = end + 1
	}
	return b.String(), nil
}

// closing returns the index of the brace closing a placeholder whose body
// starts at from, counting nested braces, or -1.
func closing(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// placeholder resolves one "${NAME[:default]}" found in the value at path.
func (r *resolver) placeholder(path, ph string, depth int) (any, error) {
	name, def, hasDef := strings.Cut(ph[2:len(ph)-1], ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("config: key %q: a placeholder has no name", path)
	}
	if v, ok, err := r.key(name); err != nil {
		return nil, err
	} else if ok {
		return v, nil
	}
	text, inEnv := r.env(name)
	if !hasDef {
		if inEnv {
			return text, nil
		}
		return nil, fmt.Errorf("config: key %q: cannot resolve placeholder %q: no key or environment variable of that name", path, name)
	}
	dv, err := r.defaultValue(path, def, depth)
	if err != nil {
		return nil, err
	}
	if inEnv {
		return coerce(text, dv), nil
	}
	return dv, nil
}

// placeholderName returns the NAME of "${NAME[:default]}", for errors that
// must not show the default.
func placeholderName(ph string) string {
	name, _, _ := strings.Cut(ph[2:len(ph)-1], ":")
	return strings.TrimSpace(name)
}

func (r *resolver) defaultValue(path, def string, depth int) (any, error) {
	if !strings.Contains(def, "$") {
		return infer(def), nil
	}
	v, err := r.interpolate(path, def, depth+1)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok && !strings.Contains(def, "${") {
		return infer(s), nil
	}
	return v, nil
}

// writeScalar appends the text form of a resolved scalar.
func writeScalar(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
	case string:
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	default:
		return fmt.Errorf("cannot insert a %s into a string", kind(v))
	}
	return nil
}

// kind names the type of a tree value for error messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "map"
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	default:
		return fmt.Sprintf("%T", v)
	}
}
