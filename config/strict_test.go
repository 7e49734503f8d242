package config_test

import (
	"testing"
	"time"

	_ "google.golang.org/protobuf/types/known/durationpb" // resolves the Any in the proto case
	"google.golang.org/protobuf/types/known/typepb"

	"github.com/zelos-go/zelos/config"
)

type serverConf struct {
	Addr    string `json:"addr"`
	Timeout string `json:"timeout"`
}

type bootstrap struct {
	Server struct {
		Name string     `json:"name"`
		HTTP serverConf `json:"http"`
	} `json:"server"`
	Backends []serverConf          `json:"backends"`
	Labels   map[string]string     `json:"labels"`
	Pools    map[string]serverConf `json:"pools"`
	Extra    any                   `json:"extra"`
	Ignored  string                `json:"-"`
	Untagged int                   // encoding/json matches "untagged" and "UNTAGGED"
	When     time.Time             `json:"when"` // a TextUnmarshaler: its own business
	Embedded                       // fields promoted
	Ptr      *struct {
		Deep int `json:"deep"`
	} `json:"ptr"`
}

type Embedded struct {
	Promoted string `json:"promoted"`
}

type yamlConf struct {
	Addr   string        `yaml:"addr"`
	Wait   time.Duration `yaml:"wait"`
	Inline struct {
		Shared string `yaml:"shared"`
	} `yaml:",inline"`
	NoTag string
}

func TestScanStrict(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		key  string // scanned Value; "" is the whole config
		v    func() any
		want string // the error; "" for none
	}{
		{"typo", "server: {http: {adress: 0.0.0.0:8001}}", "", func() any { return new(bootstrap) },
			`config: unknown key "server.http.adress" (did you mean "addr"?)`},
		{"all unknown keys", "server: {nmae: x, http: {adress: x, timeuot: 1s}}\nzzz: 1", "", func() any { return new(bootstrap) },
			`config: unknown key "server.http.adress" (did you mean "addr"?)` + "\n" +
				`config: unknown key "server.http.timeuot" (did you mean "timeout"?)` + "\n" +
				`config: unknown key "server.nmae" (did you mean "name"?)` + "\n" +
				`config: unknown key "zzz"`},
		{"known keys", `
server: {name: x, http: {addr: ":80", timeout: 1s}}
backends: [{addr: a}]
labels: {anything: goes}
pools: {p: {addr: b}}
extra: {any: {thing: 1}}
UNTAGGED: 3
when: 2024-05-01T10:00:00Z
promoted: p
ptr: {deep: 1}`, "", func() any { return new(bootstrap) }, ""},
		{"in list", "backends: [{addr: a}, {adr: b}]", "", func() any { return new(bootstrap) },
			`config: unknown key "backends.1.adr" (did you mean "addr"?)`},
		{"in map value", "pools: {p: {adr: b}}", "", func() any { return new(bootstrap) },
			`config: unknown key "pools.p.adr" (did you mean "addr"?)`},
		{"skipped field", "Ignored: x", "", func() any { return new(bootstrap) }, `config: unknown key "Ignored"`},
		{"behind a pointer", "ptr: {deeep: 1}", "", func() any { return new(bootstrap) },
			`config: unknown key "ptr.deeep" (did you mean "deep"?)`},
		{"value", "server: {http: {adress: x}}", "server.http", func() any { return new(serverConf) },
			`config: unknown key "server.http.adress" (did you mean "addr"?)`},
		{"yaml tags", "addr: x\nwait: 1s\nshared: s\nnotag: n", "", func() any { return new(yamlConf) }, ""},
		{"yaml tags are exact", "Addr: x\nNoTag: n", "", func() any { return new(yamlConf) },
			`config: unknown key "Addr" (did you mean "addr"?)` + "\n" + `config: unknown key "NoTag" (did you mean "notag"?)`},
		{"proto", `
name: T
fields: [{name: id, jsonName: id, nmae: x}, {json_name: id}]
source_context: {file_name: f}
options: [{name: o, value: {"@type": "type.googleapis.com/google.protobuf.Duration", value: 1s}}]
syntaxx: 1`, "", func() any { return new(typepb.Type) },
			`config: unknown key "fields.0.nmae" (did you mean "name"?)` + "\n" +
				`config: unknown key "syntaxx" (did you mean "syntax"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, config.WithSource(static{yamlKV(tc.yaml)}))
			v := tc.v()
			// Without Strict unknown keys are ignored, as before.
			if err := c.Value(tc.key).Scan(v); err != nil {
				t.Fatalf("Scan without Strict: %v", err)
			}
			err := c.Value(tc.key).Scan(tc.v(), config.Strict())
			if tc.key == "" {
				err2 := c.Scan(tc.v(), config.Strict())
				if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
					t.Errorf("Config.Scan = %v, Value(\"\").Scan = %v", err2, err)
				}
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Scan(Strict) = %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("Scan(Strict) error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// TestScanStrictLeavesTargetAlone: on unknown keys nothing is decoded, so a
// caller cannot use a half-checked configuration by mistake.
func TestScanStrictLeavesTargetAlone(t *testing.T) {
	c := load(t, config.WithSource(static{yamlKV("addr: x\nadress: y")}))
	var s serverConf
	if err := c.Scan(&s, config.Strict()); err == nil || s.Addr != "" {
		t.Errorf("Scan = %v, target %+v", err, s)
	}
}
