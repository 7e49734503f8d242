package apollo

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestSignatureVector checks the signature against one computed apart from
// this code, with
//
//	printf '1700000000000\n/configs/app/default/application' |
//		openssl dgst -sha1 -hmac your-secret -binary | base64
func TestSignatureVector(t *testing.T) {
	h := http.Header{}
	sign(h, "app", "your-secret", "/configs/app/default/application", time.UnixMilli(1700000000000))
	if got, want := h.Get("Authorization"), "Apollo app:W7k8cvY3dPXg/5/6ec8X+N+umFU="; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got := h.Get("Timestamp"); got != "1700000000000" {
		t.Errorf("Timestamp = %q", got)
	}
}

func TestPathWithQuery(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://h/configs/a/b/c", "/configs/a/b/c"},
		{"http://h/p/notifications/v2?appId=a&notifications=%5B%5D", "/p/notifications/v2?appId=a&notifications=%5B%5D"},
		{"http://h/configs/a/b/x%20y", "/configs/a/b/x%20y"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := pathWithQuery(u); got != tc.want {
				t.Errorf("pathWithQuery = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseNamespace(t *testing.T) {
	for _, tc := range []struct {
		name string
		want namespace
	}{
		{"application", namespace{"application", "application", "properties"}},
		{"application.properties", namespace{"application", "application", "properties"}},
		{"redis.yaml", namespace{"redis.yaml", "redis", "yaml"}},
		{"redis.YML", namespace{"redis.YML", "redis", "yml"}},
		{"db.json", namespace{"db.json", "db", "json"}},
		{"notes.txt", namespace{"notes.txt", "notes", "txt"}},
		{"FX.apollo", namespace{"FX.apollo", "FX.apollo", "properties"}},
		{".yaml", namespace{".yaml", ".yaml", "properties"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNamespace(tc.name)
			if err != nil || got != tc.want {
				t.Errorf("parseNamespace = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestInfer(t *testing.T) {
	for _, tc := range []struct {
		text string
		want any
	}{
		{"true", true}, {"false", false}, {"42", int64(42)}, {"-7", int64(-7)}, {"1.5", 1.5},
		{"007", "007"}, {"1.10", "1.10"}, {"1e3", "1e3"}, {"", ""}, {"True", "True"}, {"NaN", "NaN"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			if got := infer(tc.text); got != tc.want {
				t.Errorf("infer(%q) = %#v, want %#v", tc.text, got, tc.want)
			}
		})
	}
}

func TestPropertiesTree(t *testing.T) {
	t.Run("nests", func(t *testing.T) {
		tree, err := propertiesTree("ns", map[string]string{"a.b": "1", "a.c": "x", "d": "y"})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := tree["a"].(map[string]any)
		if a["b"] != int64(1) || a["c"] != "x" || tree["d"] != "y" {
			t.Errorf("tree = %v", tree)
		}
	})
	for name, in := range map[string]map[string]string{
		"value and parent": {"a": "1", "a.b": "2"},
		"empty segment":    {"a..b": "1"},
		"trailing dot":     {"a.": "1"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := propertiesTree("ns", in); err == nil {
				t.Errorf("propertiesTree(%v) gave no error", in)
			}
		})
	}
}
