package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/config"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var testEnv = envMap(map[string]string{"HOST": "example.com", "PORT": "9090", "EMPTY": "", "WORD": "abc"})

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree map[string]any
		key  string
		want any
	}{
		{"plain", m("a", "no placeholders $ here"), "a", "no placeholders $ here"},
		{"key", m("a", "${b}", "b", "x"), "a", "x"},
		{"nested key", m("a", "${s.t}", "s", m("t", "deep")), "a", "deep"},
		{"chain", m("a", "<${b}>", "b", "[${c}]", "c", "${d.e}", "d", m("e", "end")), "a", "<[end]>"},
		{"list index", m("a", "${l.1}", "l", []any{"x", "y"}), "a", "y"},
		{"typed key", m("a", "${n}", "n", int64(3)), "a", int64(3)},
		{"typed map", m("a", "${s}", "s", m("t", "${b}"), "b", "v"), "a", m("t", "v")},
		{"through alias", m("a", "${s.t}", "s", "${r}", "r", m("t", "via")), "a", "via"},
		{"env", m("a", "http://${HOST}:${PORT}"), "a", "http://example.com:9090"},
		{"env is string", m("a", "${PORT}"), "a", "9090"},
		{"env typed by default", m("a", "${PORT:80}"), "a", int64(9090)},
		{"env not of default type", m("a", "${WORD:80}"), "a", "abc"},
		{"empty env", m("a", "${EMPTY:x}"), "a", ""},
		{"key before env", m("a", "${HOST}", "HOST", "config"), "a", "config"},
		{"default", m("a", "${NOPE:fallback}"), "a", "fallback"},
		{"empty default", m("a", "${NOPE:}"), "a", ""},
		{"int default", m("a", "${NOPE:8080}"), "a", int64(8080)},
		{"bool default", m("a", "${NOPE:true}"), "a", true},
		{"float default", m("a", "${NOPE:0.5}"), "a", 0.5},
		{"non-canonical default", m("a", "${NOPE:007}"), "a", "007"},
		{"version default", m("a", "${NOPE:1.10}"), "a", "1.10"},
		{"default in text", m("a", "port ${NOPE:8080}"), "a", "port 8080"},
		{"default with colon", m("a", "${NOPE:http://x:1}"), "a", "http://x:1"},
		{"nested default", m("a", "${NOPE:${NOPE2:${HOST}}}"), "a", "example.com"},
		{"default key", m("a", "${NOPE:${n}}", "n", int64(4)), "a", int64(4)},
		{"braces in default", m("a", "${NOPE:{x}}"), "a", "{x}"},
		{"spaces", m("a", "${ b }", "b", "x"), "a", "x"},
		{"escape", m("a", "$${b} and ${b}", "b", "x"), "a", "${b} and x"},
		{"escape stays literal when referenced", m("a", "${b}", "b", "$${c}"), "a", "${c}"},
		{"number in text", m("a", "${n}/${f}/${t}/${z}", "n", int64(1), "f", 2.5, "t", true, "z", nil), "a", "1/2.5/true/"},
		{"in list", m("l", []any{"${b}"}, "b", "x"), "l.0", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := config.NewResolver(testEnv)(tc.tree); err != nil {
				t.Fatal(err)
			}
			got := get(tc.tree, tc.key)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.key, got, tc.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree map[string]any
		want []string
	}{
		{"missing", m("a", m("b", "x ${NOPE}")), []string{`config: key "a.b"`, `"NOPE"`}},
		{"missing nested default", m("a", "${NOPE:${NOPE2}}"), []string{`key "a"`, `"NOPE2"`}},
		{"cycle", m("a", "${b}", "b", "${a}"), []string{"cycle"}},
		{"self", m("a", "${a}"), []string{`key "a"`, "cycle"}},
		{"ancestor", m("a", m("b", "${a}")), []string{`key "a.b"`, "cycle"}},
		{"default cycle", m("a", "${NOPE:${a}}"), []string{"cycle"}},
		{"unterminated", m("a", "${b"), []string{`key "a"`, "unterminated"}},
		{"empty name", m("a", "${:x}"), []string{`key "a"`, "no name"}},
		{"map in text", m("a", "x${s}", "s", m()), []string{`key "a"`, "map"}},
		{"too deep", m("a", strings.Repeat("${N:", 100)+strings.Repeat("}", 100)), []string{"nested deeper"}},
		{"too long", m("a", "${b}${b}", "b", "${c}${c}", "c", strings.Repeat("x", 1<<19)), []string{"longer than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := config.NewResolver(testEnv)(tc.tree)
			if err == nil {
				t.Fatalf("no error; tree %v", tc.tree)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// FuzzResolve checks that the resolver never panics or hangs, leaves text
// without "$" alone, and is deterministic.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"plain", "${a}", "${b.c}", "x${HOST}y", "${NOPE:1}", "${NOPE:${a}}", "$${a}", "${", "}", "${}",
		"${a:${b:${c}}}", "${l.0}", "${self}", "${NOPE:{}}", "$$$", "${ a }",
	} {
		f.Add(s, "${a}")
	}
	f.Fuzz(func(t *testing.T, s, other string) {
		build := func() map[string]any {
			return m("self", s, "a", "A", "b", m("c", other, "d", int64(1)), "l", []any{s, other}, "other", other)
		}
		t1, t2 := build(), build()
		err1 := config.NewResolver(testEnv)(t1)
		err2 := config.NewResolver(testEnv)(t2)
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("not deterministic: %v / %v", err1, err2)
		}
		if err1 != nil {
			if !strings.HasPrefix(err1.Error(), "config: key ") {
				t.Fatalf("error without key: %v", err1)
			}
			return
		}
		if !reflect.DeepEqual(t1, t2) {
			t.Fatalf("not deterministic: %v / %v", t1, t2)
		}
		if !strings.Contains(s, "$") && t1["self"] != s {
			t.Fatalf("%q changed to %#v", s, t1["self"])
		}
	})
}

// m builds a map from alternating keys and values.
func m(kv ...any) map[string]any {
	out := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// get reads a dotted key of a resolved tree.
func get(tree map[string]any, key string) any {
	var node any = tree
	for _, seg := range strings.Split(key, ".") {
		switch n := node.(type) {
		case map[string]any:
			node = n[seg]
		case []any:
			node = n[int(seg[0]-'0')]
		}
	}
	return node
}
