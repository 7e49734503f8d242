package apollo

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/zelos-go/zelos/config"
	yamlcodec "github.com/zelos-go/zelos/encoding/yaml"
)

// topLevelKey is the KeyValue.Key of the top-level copy of the application
// namespace. Config uses keys only to name a KeyValue in its errors.
const topLevelKey = "application (top level)"

// Namespace formats, by the extension of the namespace's name.
const (
	formatProperties = "properties"
	formatJSON       = "json"
	formatYAML       = "yaml"
	formatYML        = "yml"
	formatTXT        = "txt"
	formatXML        = "xml"
)

// namespace is one namespace to read.
type namespace struct {
	request string // name in request paths and notifications
	key     string // name its keys appear under
	format  string
}

// parseNamespace works out a namespace's format from its name. As Apollo
// does, a properties namespace is named without its extension in requests
// and notifications, and any other one with it.
func parseNamespace(name string) (namespace, error) {
	if name == "" {
		return namespace{}, fmt.Errorf("apollo: empty namespace name (WithNamespace)")
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext := name[:i], strings.ToLower(name[i+1:])
		switch ext {
		case formatProperties:
			return namespace{request: base, key: base, format: formatProperties}, nil
		case formatJSON, formatYAML, formatYML, formatTXT, formatXML:
			return namespace{request: name, key: base, format: ext}, nil
		}
	}
	// Names such as "FX.apollo" are properties namespaces with a dot.
	return namespace{request: name, key: name, format: formatProperties}, nil
}

// keyValues turns the configurations of one release into the namespace's
// KeyValues: its tree under its key, and for the application namespace the
// same tree at the top level.
func (ns namespace) keyValues(configurations map[string]string) ([]*config.KeyValue, error) {
	tree, err := ns.tree(configurations)
	if err != nil {
		return nil, err
	}
	nested := map[string]any{}
	setPath(nested, strings.Split(ns.key, "."), tree)
	b, err := json.Marshal(nested)
	if err != nil {
		return nil, fmt.Errorf("apollo: namespace %q: %w", ns.request, err)
	}
	kvs := []*config.KeyValue{{Key: ns.request, Value: b, Format: "json"}}
	if ns.key == "application" {
		if _, isMap := tree.(map[string]any); isMap {
			top, _ := json.Marshal(tree) // a part of nested, which marshalled
			kvs = append(kvs, &config.KeyValue{Key: topLevelKey, Value: top, Format: "json"})
		}
	}
	return kvs, nil
}

// tree decodes a release's configurations by the namespace's format.
func (ns namespace) tree(configurations map[string]string) (any, error) {
	switch ns.format {
	case formatProperties:
		return propertiesTree(ns.request, configurations)
	case formatTXT, formatXML:
		return configurations["content"], nil
	}
	// YAML is a superset of JSON, so one decoder reads both.
	content := configurations["content"]
	m := map[string]any{}
	if strings.TrimSpace(content) == "" {
		return m, nil
	}
	if err := (yamlcodec.Codec{MaxSize: -1}).Unmarshal([]byte(content), &m); err != nil {
		return nil, fmt.Errorf("apollo: namespace %q: decode as %s: %w", ns.request, ns.format, err)
	}
	return m, nil
}

// propertiesTree nests the dotted keys of a properties namespace. A key
// that is both a value and the parent of other keys ("db" and "db.host")
// has no place in a tree, so it is an error rather than a silent choice.
func propertiesTree(name string, configurations map[string]string) (map[string]any, error) {
	keys := make([]string, 0, len(configurations))
	for k := range configurations {
		keys = append(keys, k)
	}
	// Sorted, a parent comes right before its children, and errors name
	// the same pair on every load.
	slices.Sort(keys)
	tree := map[string]any{}
	for _, k := range keys {
		path := strings.Split(k, ".")
		if slices.Contains(path, "") {
			return nil, fmt.Errorf("apollo: namespace %q: key %q has an empty segment", name, k)
		}
		if err := putLeaf(tree, path, infer(configurations[k])); err != nil {
			return nil, fmt.Errorf("apollo: namespace %q: key %q: %w", name, k, err)
		}
	}
	return tree, nil
}

func putLeaf(tree map[string]any, path []string, v any) error {
	m := tree
	for i, seg := range path[:len(path)-1] {
		switch next := m[seg].(type) {
		case nil:
			child := map[string]any{}
			m[seg] = child
			m = child
		case map[string]any:
			m = next
		default:
			return fmt.Errorf("%q also has a value of its own", strings.Join(path[:i+1], "."))
		}
	}
	last := path[len(path)-1]
	if _, isMap := m[last].(map[string]any); isMap {
		return fmt.Errorf("it is also the parent of other keys")
	}
	m[last] = v
	return nil
}

// setPath stores v at path, creating maps on the way. Used for the
// namespace's own name, whose segments are fresh maps.
func setPath(m map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		child, ok := m[seg].(map[string]any)
		if !ok {
			child = map[string]any{}
			m[seg] = child
		}
		m = child
	}
	m[path[len(path)-1]] = v
}

// infer gives a properties value a scalar type when the text is the
// canonical spelling of one, as config does for environment variables:
// "true", "42", "1.5". Anything else ("007", "1.10", "1e3", "") stays a
// string, so that no value changes by being read.
func infer(text string) any {
	switch text {
	case "true":
		return true
	case "false":
		return false
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil && strconv.FormatInt(i, 10) == text {
		return i
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) &&
		strconv.FormatFloat(f, 'f', -1, 64) == text {
		return f
	}
	return text
}
