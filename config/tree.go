package config

import (
	"slices"
	"strconv"
	"strings"
)

// The merged configuration is a tree of map[string]any, []any, string,
// bool, int64, float64 and nil. A tree is never modified once a Config has
// published it.

// merge deep-merges src into dst: maps merge key by key, anything else in
// src replaces what dst holds.
func merge(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = sv
	}
}

// setPath stores v at path, creating (or replacing non-map values with)
// intermediate maps. Indexes into existing slices are honoured.
func setPath(m map[string]any, path []string, v any) {
	var node any = m
	for i, seg := range path {
		last := i == len(path)-1
		switch n := node.(type) {
		case map[string]any:
			if last {
				n[seg] = v
				return
			}
			next := n[seg]
			switch next.(type) {
			case map[string]any, []any:
			default:
				next = map[string]any{}
				n[seg] = next
			}
			node = next
		case []any:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(n) {
				return // not reachable: env paths only index existing elements
			}
			if last {
				n[idx] = v
				return
			}
			next := n[idx]
			switch next.(type) {
			case map[string]any, []any:
			default:
				next = map[string]any{}
				n[idx] = next
			}
			node = next
		}
	}
}

// lookup returns the value at the dotted key. The empty key is the root.
// A segment that is a decimal number indexes a list ("servers.0.addr").
func lookup(root map[string]any, key string) (any, bool) {
	if root == nil {
		return nil, false
	}
	var node any = root
	if key == "" {
		return node, true
	}
	for {
		seg, rest, more := strings.Cut(key, ".")
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[seg]
			if !ok {
				return nil, false
			}
			node = v
		case []any:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(n) {
				return nil, false
			}
			node = n[idx]
		default:
			return nil, false
		}
		if !more {
			return node, true
		}
		key = rest
	}
}

// lookupPath returns the value at path, which must exist.
func lookupPath(root map[string]any, path []string) any {
	var node any = root
	for _, seg := range path {
		switch n := node.(type) {
		case map[string]any:
			node = n[seg]
		case []any:
			idx, _ := strconv.Atoi(seg)
			node = n[idx]
		}
	}
	return node
}

// envPath finds the path in tree that the underscore-separated name
// matches, trying every way of reading each underscore as a path separator
// or a literal underscore, comparing case-insensitively. Readings with more
// separators win; among equal keys differing only in case, the sorted first
// wins. It returns nil when nothing matches.
func envPath(tree map[string]any, name string) []string {
	tokens := strings.Split(name, "_")
	var path []string
	if matchEnv(tree, tokens, &path) {
		return path
	}
	return nil
}

func matchEnv(node any, tokens []string, path *[]string) bool {
	switch n := node.(type) {
	case map[string]any:
		for j := 1; j <= len(tokens); j++ {
			seg := strings.Join(tokens[:j], "_")
			for _, k := range foldKeys(n, seg) {
				*path = append(*path, k)
				if j == len(tokens) || matchEnv(n[k], tokens[j:], path) {
					return true
				}
				*path = (*path)[:len(*path)-1]
			}
		}
	case []any:
		idx, err := strconv.Atoi(tokens[0])
		if err != nil || idx < 0 || idx >= len(n) {
			return false
		}
		*path = append(*path, tokens[0])
		if len(tokens) == 1 || matchEnv(n[idx], tokens[1:], path) {
			return true
		}
		*path = (*path)[:len(*path)-1]
	}
	return false
}

// foldKeys returns the keys of m equal to seg under case folding, sorted.
func foldKeys(m map[string]any, seg string) []string {
	var keys []string
	for k := range m {
		if strings.EqualFold(k, seg) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// applyEnv stores an environment KeyValue in tree (see FormatEnv).
func applyEnv(tree map[string]any, kv *KeyValue) {
	text := string(kv.Value)
	if path := envPath(tree, kv.Key); path != nil {
		setPath(tree, path, coerce(text, lookupPath(tree, path)))
		return
	}
	var path []string
	for _, t := range strings.Split(kv.Key, "_") {
		if t != "" {
			path = append(path, strings.ToLower(t))
		}
	}
	if len(path) > 0 {
		setPath(tree, path, text)
	}
}

// deepCopy returns a copy of v that shares no maps or slices with it.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
