package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigErrorsNameFileLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", `
endpoints:
  - path: /a
    backend: [{target: "http://x:1"}]
`, []string{`gateway.yaml:4: unknown field "backend"`}},
		{"bad duration", `
defaults:
  timeout: soon
`, []string{`gateway.yaml:3: invalid duration "soon"`}},
		{"bad template and target", `
endpoints:
  - path: /a/{id
    backends: [{target: "http://x:1"}]
  - prefix: /b
    backends:
      - target: "htp://x"
`, []string{"gateway.yaml:3: endpoints[0].path:", `gateway.yaml:7: endpoints[1].backends[0].target: "htp://x"`}},
		{"unknown policy", `
policies:
  auth: {jwt: {secret: x}}
defaults:
  policies: [auth, missing]
endpoints: []
`, []string{`gateway.yaml:5: defaults.policies[1]: no policy is named "missing" (policies: auth)`}},
		{"policy with two kinds", `
policies:
  both: {jwt: {secret: x}, cors: {}}
`, []string{"gateway.yaml:3: policies.both: sets 2 of"}},
		{"no backends", `
endpoints:
  - path: /x
`, []string{"gateway.yaml:3: endpoints[0].backends: needs at least one backend"}},
		{"syntax", "endpoints: [\n", []string{"gateway.yaml: "}},
		{"route conflict", `
endpoints:
  - {name: one, path: /x, backends: [{target: "http://a:1"}]}
  - {name: two, path: /x, backends: [{target: "http://b:1"}]}
`, []string{"endpoints[1] (two) has the route of one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.yaml), "gateway.yaml")
			if err == nil && cfg != nil {
				_, err = New(cfg, WithLogger(quiet))
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestPlaceholdersResolve(t *testing.T) {
	t.Setenv("GW_TIMEOUT", "250ms")
	t.Setenv("GW_SECRET", "from-env")
	cfg, err := ParseConfig([]byte(`
defaults: {timeout: "${GW_TIMEOUT:1s}"}
policies:
  auth: {jwt: {secret: "${GW_SECRET}"}}
`), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Defaults.Timeout.String() != "250ms" || cfg.Policies["auth"].JWT.Secret != "from-env" {
		t.Fatalf("%+v", cfg)
	}
}

func TestLoadConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(p, []byte("listen: \":0\"\nendpoints:\n  - path: /x\n    backends: [{target: \"http://a:1\"}]\n    weight: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(p)
	if err == nil || !strings.Contains(err.Error(), p+`:5: unknown field "weight"`) {
		t.Fatalf("%v", err)
	}
}
