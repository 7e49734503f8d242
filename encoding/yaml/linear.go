package yaml

import (
	"fmt"
	"reflect"

	"gopkg.in/yaml.v3"
)

// chunkPairs is the most key/value pairs a mapping may have before it is
// split for decoding (see splitMappings). yaml.v3 compares every key of a
// mapping with every other one, so a mapping of n keys costs n²/2 string
// comparisons: 40k keys took 5 s and a 4 MiB body would take minutes.
// Splitting bounds the cost at chunkPairs/2 comparisons per key.
const chunkPairs = 128

// unmarshal decodes the first YAML document in data into v, as
// yaml.Unmarshal does, in time linear in the size of data. An empty
// document leaves v unchanged. yaml.v3 panics on some malformed documents
// (such as "{{},<<}"); the panic becomes an error.
func unmarshal(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	// Parsing into a Node is linear; only decoding a Node compares keys.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if doc.Kind == 0 {
		return nil
	}
	splitMappings(&doc, chunkPairs)
	return doc.Decode(v)
}

type keyID struct {
	kind  yaml.Kind
	value string
}

// splitMappings rewrites, in place, every mapping under n with more than
// chunk pairs into the same content written with YAML merge keys:
// {<<: [{first pairs}, {next pairs}, ..., original merges]}. The decoded
// value is the same, because the pairs are unique and a mapping's merged
// entries never override its own. A custom yaml.Unmarshaler or a yaml.Node
// field receiving such a mapping sees the merge form.
//
// A mapping with a duplicate key (found here in linear time) is cut down
// to the first two pairs with that key instead, so that yaml.v3 reports the
// duplicate if, and only if, it decodes that mapping: a struct target
// skips the values of keys it has no field for. Keys of different text
// that decode to the same value ("0" and "00", "~" and "null") are
// duplicates too here, though yaml.v3 lets the later one win in small
// mappings: split, the earlier one would win.
//
// Aliases are not followed: the node an alias names is rewritten where it
// is defined.
func splitMappings(n *yaml.Node, chunk int) {
	for _, c := range n.Content {
		splitMappings(c, chunk)
	}
	if n.Kind != yaml.MappingNode || len(n.Content) <= 2*chunk {
		return
	}
	seen := make(map[keyID]int, len(n.Content)/2) // index of each key
	values := map[any]int{}                       // index of each non-string key, by decoded value
	var (
		merge *yaml.Node   // the value of the mapping's own "<<" key
		first []*yaml.Node // a non-string key kept in place (see below)
		pairs = make([]*yaml.Node, 0, len(n.Content))
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		// yaml.v3 calls two keys duplicates when their kind and text match,
		// whatever their tags; do the same.
		id := keyID{k.Kind, k.Value}
		if j, dup := seen[id]; dup {
			n.Content = []*yaml.Node{n.Content[j], n.Content[j+1], k, n.Content[i+1]}
			return
		}
		seen[id] = i
		if x, ok := decodedKey(k); ok {
			if j, dup := values[x]; dup {
				// Give the second key the first one's text, so that yaml.v3
				// sees the duplicate it would otherwise resolve silently.
				same := *k
				same.Value, same.Tag = n.Content[j].Value, n.Content[j].Tag
				n.Content = []*yaml.Node{n.Content[j], n.Content[j+1], &same, n.Content[i+1]}
				return
			}
			values[x] = i
		}
		switch {
		case isMerge(k):
			merge = n.Content[i+1]
		case first == nil && k.ShortTag() != "!!str":
			// yaml.v3 decodes a mapping into `any` as map[string]any only
			// when all its own keys are strings; keeping one non-string
			// key in place keeps that choice unchanged.
			first = n.Content[i : i+2]
		default:
			pairs = append(pairs, n.Content[i], n.Content[i+1])
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
	for i := 0; i < len(pairs); i += 2 * chunk {
		c := pairs[i:min(i+2*chunk, len(pairs))]
		seq.Content = append(seq.Content, &yaml.Node{
			Kind: yaml.MappingNode, Tag: "!!map", Content: c, Line: c[0].Line, Column: c[0].Column,
		})
	}
	// The original merges come last, so the mapping's own pairs win.
	switch {
	case merge == nil:
	case merge.Kind == yaml.SequenceNode:
		seq.Content = append(seq.Content, merge.Content...)
	default:
		seq.Content = append(seq.Content, merge)
	}
	content := make([]*yaml.Node, 0, 4)
	content = append(content, first...)
	content = append(content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!merge", Value: "<<", Line: n.Line, Column: n.Column}, seq)
	n.Content = content
}

// decodedKey returns the value a scalar key that is not a string decodes
// to, when it can be a map key.
func decodedKey(k *yaml.Node) (any, bool) {
	if k.Kind != yaml.ScalarNode || isMerge(k) {
		return nil, false
	}
	switch k.ShortTag() {
	case "!!str", "!!binary":
		return nil, false
	}
	var x any
	if k.Decode(&x) != nil || x == nil && k.ShortTag() != "!!null" {
		return nil, false
	}
	if x != nil && !reflect.TypeOf(x).Comparable() {
		return nil, false
	}
	return x, true
}

// isMerge reports whether k is a "<<" merge key, as yaml.v3 decides.
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" &&
		(k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}
