package http

import (
	"context"
	"encoding/json"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// fuzzServer returns a server (not listening) with the routes the fuzz
// targets call: Unary routes echoing a generated message and a plain
// struct, a Router route binding a struct, and path templates of every
// kind.
func fuzzServer(opts ...ServerOption) *Server {
	srv := NewServer(append([]ServerOption{Logger(discard), MaxBodySize(64 << 10)}, opts...)...)
	r := srv.Route("/")
	echoPB := func(_ context.Context, in *testpb.SimpleRequest) (*testpb.SimpleRequest, error) { return in, nil }
	Unary(r, "POST", "/pb", "/T/PB", echoPB)
	Unary(r, "POST", "/struct", "/T/Struct", func(_ context.Context, in *user) (*user, error) { return in, nil })
	r.POST("/bind", func(ctx Context) error {
		var v map[string]any
		if err := ctx.Bind(&v); err != nil {
			return err
		}
		// Not echoed: JSON cannot carry every value YAML can (.inf), and
		// what the handler sends back is its own business.
		return ctx.String(200, "ok")
	})
	Unary(r, "GET", "/v1/{payload.body=shelves/*/books/*}", "/T/Name", echoPB)
	Unary(r, "GET", "/users/{response_size}", "/T/Size", echoPB)
	Unary(r, "GET", "/users/{response_size}:cancel", "/T/Cancel", echoPB)
	Unary(r, "GET", "/enum/{response_type}", "/T/Enum", echoPB)
	Unary(r, "GET", "/status/{response_status.message}", "/T/Status", echoPB)
	Unary(r, "GET", "/u/{name}/{id}", "/T/User", func(_ context.Context, in *user) (*user, error) { return in, nil })
	r.GET("/files/{path=**}", func(ctx Context) error { return ctx.String(200, ctx.PathValue("path")) })
	r.GET("/vars/{a}/{b=x/*}", func(ctx Context) error {
		var v struct{ A, B string }
		if err := ctx.BindVars(&v); err != nil {
			return err
		}
		return ctx.JSON(200, ctx.Vars())
	})
	return srv
}

// checkReply fails unless the reply is a success or a 4xx with the
// structured error body whose code is the status: malformed input must
// never be a 500.
func checkReply(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	if w.Code < 400 {
		return
	}
	var e struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != w.Code || e.Reason == "" {
		t.Fatalf("%s: reply %d %q is not a structured error", what, w.Code, w.Body.String())
	}
	if w.Code >= 500 {
		t.Fatalf("%s: reply %d %q", what, w.Code, w.Body.String())
	}
}

// fuzzBodies posts body with content type ct to each body route.
func fuzzBodies(t *testing.T, srv *Server, ct string, body []byte) {
	for _, p := range []string{"/pb", "/struct", "/bind"} {
		req := httptest.NewRequest("POST", p, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		checkReply(t, w, "POST "+p)
	}
}

// FuzzBindJSON binds JSON bodies, through the server's handler, into a
// generated message, a plain struct and a map.
func FuzzBindJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"responseType":"COMPRESSABLE","responseSize":3,"payload":{"body":"aGk="}}`,
		`{"response_size":"7","fill_username":true,"response_status":{"code":2,"message":"x"}}`,
		`{"id":1,"name":"jo"}`, `[1,2]`, `{"a":{"b":[null,1.5e300,"\u00e9"]}}`, `"\ud800"`, `{"payload":{"body":"!"}}`,
	} {
		f.Add([]byte(s))
	}
	srv := fuzzServer()
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzBodies(t, srv, "application/json", body)
	})
}

// FuzzBindYAML binds YAML bodies, on a server that accepts them, into a
// generated message, a plain struct and a map.
func FuzzBindYAML(f *testing.F) {
	for _, s := range []string{
		"{}", "responseType: COMPRESSABLE\nresponseSize: 3\npayload:\n  body: aGk=\n",
		"id: 1\nname: jo\n", "- 1\n- 2\n", "a: &x [1]\nb: *x\n", "? [a]\n: 1\n", "!!binary AA==", "a: !!float .inf\n",
	} {
		f.Add([]byte(s))
	}
	srv := fuzzServer(RequestCodecs("json", "yaml"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzBodies(t, srv, "application/yaml", body)
	})
}

// FuzzPathParams matches paths against templates of every kind (variables
// over one segment, several segments, the rest of the path, a custom verb,
// nested fields) and binds their variables into typed fields.
func FuzzPathParams(f *testing.F) {
	for _, s := range []string{
		"/v1/shelves/1/books/2", "/users/12", "/users/12:cancel", "/enum/COMPRESSABLE", "/enum/1",
		"/u/jo/3", "/u/%ff/3", "/u/jo/x", "/files/a/b/%2F/c", "/vars/a%20b/x/y", "/users/%3a:cancel",
		"/v1/shelves/%ff/books/2", "/files/", "//users/1", "/users/1?response_size=%ff",
		"/status/%ff", "/status/ok%C3%A9",
	} {
		f.Add(s)
	}
	srv := fuzzServer()
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := &nethttp.Request{Method: "GET", URL: u, RequestURI: target, Header: nethttp.Header{}, Body: nethttp.NoBody, Host: "x"}
		req = req.WithContext(context.Background())
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		checkReply(t, w, "GET "+target)
	})
}
