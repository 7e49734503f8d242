package yaml

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
	"gopkg.in/yaml.v3"
)

// decodeSplit decodes data as unmarshal does, but splitting every mapping
// of more than chunk pairs, so that small inputs exercise the rewrite.
func decodeSplit(data []byte, v any, chunk int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if doc.Kind == 0 {
		return nil
	}
	splitMappings(&doc, chunk)
	return doc.Decode(v)
}

// decodePlain is yaml.v3 alone, with its panics as errors.
func decodePlain(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return yaml.Unmarshal(data, v)
}

type fuzzTarget struct {
	A string         `yaml:"a"`
	B []int          `yaml:"b"`
	M map[string]any `yaml:"m"`
	N *fuzzTarget    `yaml:"n"`
}

// FuzzYAMLUnmarshal checks that the codec never panics on any input, into
// any target, and that splitting mappings into merges (done for large
// mappings, here for every mapping of two pairs or more) decodes exactly as
// yaml.v3 does on its own.
func FuzzYAMLUnmarshal(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb: [1, 2]\nm: {x: y, z: 1}\n",
		"a: &x {p: 1, q: 2}\nm: {<<: *x, q: 3, r: 4}\n",
		"m: {<<: [{a: 1}, {a: 2, b: 3}], c: 4, d: 5}\n",
		"{1: a, b: c, 2.5: d, true: e, ~: f}\n",
		"m: {a: 1, a: 2}\n",
		"m: {<<: {a: 1}, b: 2, <<: {c: 3}}\n",
		"{{},<<}",
		"n: {a: x, n: {b: [1], m: {k: v, l: w}}}\n",
		"- a\n- {b: c, d: e}\n- [f, {g: h, i: j}]\n",
		"a: !!str 1\nb: !!binary aGk=\nc: 2024-05-01\nd: .inf\n",
		"m: {? [a, b] : c, d: e}\n",
		"a: *nope\n",
		"x: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return // aliases can make small inputs decode slowly; size is tested elsewhere
		}
		for _, target := range []func() any{
			func() any { return new(any) },
			func() any { return new(map[string]any) },
			func() any { return new(fuzzTarget) },
		} {
			want, got := target(), target()
			wantErr := decodePlain(data, want)
			gotErr := decodeSplit(data, got, 1)
			if wantErr == nil && gotErr != nil && strings.Contains(gotErr.Error(), "already defined") {
				// Keys such as 0 and 00 decode to the same value: split,
				// they are reported as duplicates (see splitMappings).
				continue
			}
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("split error = %v, yaml.v3 error = %v", gotErr, wantErr)
			}
			if wantErr == nil && !reflect.DeepEqual(want, got) {
				t.Fatalf("split decodes %#v, yaml.v3 decodes %#v",
					reflect.ValueOf(got).Elem().Interface(), reflect.ValueOf(want).Elem().Interface())
			}
		}
		_ = Codec{}.Unmarshal(data, new(structpb.Struct))
		_ = Codec{}.Unmarshal(data, new(fuzzTarget))
	})
}
