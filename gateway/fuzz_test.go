package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/registry"
)

// FuzzParseConfig: any input is a configuration or an error, never a panic;
// an accepted one builds a gateway.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("endpoints:\n  - path: /a/{id}\n    backends: [{target: \"http://127.0.0.1:1\"}]\n"))
	f.Add([]byte("policies:\n  p: {ratelimit: {key: ip, rate: 1}}\ndefaults: {policies: [p], timeout: 1s, max_body: 1KiB}\n"))
	f.Add([]byte("endpoints: [{prefix: /, host: '*.x.com', backends: [{target: 'discovery:///s'}]}]"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "gateway: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		g, err := New(cfg, WithLogger(quiet), WithDiscovery(registry.NewInMemory()))
		if err == nil {
			_ = g.Close()
		}
	})
}

// FuzzServe: any method, path and headers get a reply below 500 from a
// gateway whose backend always answers 200, never a panic.
func FuzzServe(f *testing.F) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer backend.Close()
	cfg, err := ParseConfig([]byte(`
policies:
  cors: {cors: {}}
endpoints:
  - {path: "/v1/{name=shelves/*}/books/{id}", methods: [GET], backends: [{target: `+backend.URL+`}]}
  - {prefix: /api, policies: [cors], rewrite: {strip_prefix: /api}, backends: [{target: `+backend.URL+`}]}
  - {path: /v1/x, host: "*.example.com", backends: [{target: `+backend.URL+`}]}
`), "fuzz.yaml")
	if err != nil {
		f.Fatal(err)
	}
	g, err := New(cfg, WithLogger(quiet))
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	f.Add("GET", "/v1/shelves/1/books/2", "a.example.com", "")
	f.Add("OPTIONS", "/api/x", "h", "https://o.example")
	f.Add("POST", "/api/%2F..%2F", "", "")
	f.Add("GET", "/v1/x", "b.example.com:80", "")
	f.Fuzz(func(t *testing.T, method, path, host, origin string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#?") || !validMethod(method) || strings.ContainsAny(host, " \r\n\t/") {
			return
		}
		for _, c := range host {
			if c < 0x21 || c >= 0x7f {
				return // net/http answers 400 to such a Host before any handler
			}
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // net/http answers 400 before any handler
		}
		r := httptest.NewRequest(http.MethodGet, "http://h"+path, nil)
		r.Method = method
		if host != "" {
			r.Host = host
		}
		if origin != "" && validValue(origin) {
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", "GET")
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s (host %q): %d %s", method, path, host, w.Code, w.Body)
		}
	})
}

func validMethod(m string) bool {
	if m == "" || m == "CONNECT" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// validValue reports whether net/http would accept v as a header value.
func validValue(v string) bool {
	for _, c := range []byte(v) {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
