package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/config"
)

// secret is a value that must never appear in an error.
const secret = "hunter2-s3cr3t"

// TestResolveErrorsNameTheKeyNotTheValue: a value holding a placeholder is
// often a password with a default or a DSN; errors name the key and the
// placeholder's name, never the text of the value or of a default.
func TestResolveErrorsNameTheKeyNotTheValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree map[string]any
		want []string
	}{
		{"missing", m("db", m("dsn", "postgres://u:"+secret+"@${NOPE}/x")), []string{`config: key "db.dsn"`, `"NOPE"`}},
		{"missing in default", m("db", m("dsn", "${NOPE:"+secret+"${NOPE2}}")), []string{`key "db.dsn"`, `"NOPE2"`}},
		{"cycle", m("pass", secret+"${pass}"), []string{`key "pass"`, "cycle"}},
		{"unterminated", m("pass", secret+"${b"), []string{`key "pass"`, "unterminated"}},
		{"empty name", m("pass", "${:"+secret+"}"), []string{`key "pass"`, "no name"}},
		{"map in text", m("pass", secret+"${s}", "s", m()), []string{`key "pass"`, `"s"`, "map"}},
		{"map in default text", m("pass", "${NOPE:"+secret+"${s}}", "s", m()), []string{`key "pass"`, `"s"`, "map"}},
		{"too long", m("pass", secret+"${b}${b}", "b", strings.Repeat("x", 1<<19)), []string{`key "pass"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := config.NewResolver(testEnv)(tc.tree)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "${") {
				t.Errorf("error shows the value: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValueErrorsDoNotShowTheValue(t *testing.T) {
	c := load(t, config.WithSource(static{yamlKV("db: {password: " + secret + "}")}))
	for name, f := range map[string]func(config.Value) error{
		"Int":      func(v config.Value) error { _, err := v.Int(); return err },
		"Bool":     func(v config.Value) error { _, err := v.Bool(); return err },
		"Float":    func(v config.Value) error { _, err := v.Float(); return err },
		"Duration": func(v config.Value) error { _, err := v.Duration(); return err },
		"Map":      func(v config.Value) error { _, err := v.Map(); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := f(c.Value("db.password"))
			if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), `key "db.password"`) {
				t.Errorf("error = %v, want one naming the key and not the value", err)
			}
		})
	}
}

// TestResolveBoundsExpansion: placeholders can double a value at each
// level, so a few KB of config could expand into hundreds of MiB (154 MiB
// from 5 KB was shown). Each value may expand to at most 1 MiB and all of
// them together to at most 16 MiB, counting values inserted whole (a list
// referenced twice counts twice, as Scan would write it twice).
func TestResolveBoundsExpansion(t *testing.T) {
	doubling := func(levels int, first string) map[string]any {
		tree := m("v0", first)
		for i := 1; i <= levels; i++ {
			tree[fmt.Sprintf("v%d", i)] = fmt.Sprintf("${v%d}${v%d}", i-1, i-1)
		}
		return tree
	}
	for _, tc := range []struct {
		name string
		tree map[string]any
		want string // in the error; "" for no error
	}{
		{"within bounds", doubling(10, strings.Repeat("x", 512)), ""},
		{"one value too long", doubling(12, strings.Repeat("x", 512)), `key "v12": expansion longer than 1048576 bytes`},
		{"many values", func() map[string]any {
			// 5 KB of config: 150 keys each expanding to 1 MiB.
			tree := doubling(10, strings.Repeat("x", 1024))
			for i := range 150 {
				tree[fmt.Sprintf("w%03d", i)] = "${v10}"
			}
			return tree
		}(), "expanded values exceed 16777216 bytes in total"},
		{"lists referenced whole", func() map[string]any {
			// Each level is a list holding the previous one twice: the tree
			// stays small, but Scan would write 2^40 copies of v10.
			tree := doubling(10, strings.Repeat("x", 1024))
			tree["l0"] = []any{"${v10}"}
			for i := 1; i <= 40; i++ {
				tree[fmt.Sprintf("l%d", i)] = []any{fmt.Sprintf("${l%d}", i-1), fmt.Sprintf("${l%d}", i-1)}
			}
			return tree
		}(), " bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := config.NewResolver(testEnv)(tc.tree)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `config: key "`)):
				t.Fatalf("error = %v, want one naming a key and saying %q", err, tc.want)
			}
		})
	}
}
