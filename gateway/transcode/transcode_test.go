package transcode_test

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	testapiv1 "github.com/zelos-go/zelos/gateway/internal/testapi/v1"
	"github.com/zelos-go/zelos/gateway/transcode"
)

// wantRoutes are the routes of the test API, in declaration order.
var wantRoutes = []string{
	"GET /v1/shelves/{id} -> /zelos.gateway.testapi.v1.Library/GetShelf",
	"GET /v1beta/shelf/{id} -> /zelos.gateway.testapi.v1.Library/GetShelf",
	"GET /v1/{name=shelves/*/books/*} -> /zelos.gateway.testapi.v1.Library/GetBook",
	"GET /v1/shelves/{shelf}/books -> /zelos.gateway.testapi.v1.Library/ListBooks",
	"POST /v1/shelves/{shelf}/books -> /zelos.gateway.testapi.v1.Library/CreateBook",
	"PATCH /v1/{book.name=shelves/*/books/*} -> /zelos.gateway.testapi.v1.Library/UpdateBook",
	"DELETE /v1/{name=shelves/*/books/*} -> /zelos.gateway.testapi.v1.Library/DeleteBook",
	"GET /v1/authors/{id} -> /zelos.gateway.testapi.v1.Library/GetAuthor",
	"POST /v1/shelves/{shelf}/books/{book}:archive -> /zelos.gateway.testapi.v1.Library/ArchiveBook",
	"POST /v1/echo -> /zelos.gateway.testapi.v1.Library/Echo",
	"GET /v1/shelves/{shelf}:watch -> /zelos.gateway.testapi.v1.Library/WatchShelf",
}

// TestParity sends the same requests to the gateway and to the Library's
// own Zelos HTTP server: status, Content-Type and JSON body must be the
// same, so that a client cannot tell transcoding from the service.
func TestParity(t *testing.T) {
	e := newEnv(t)
	protoBody, err := proto.Marshal(&testapiv1.CreateBookRequest{Book: &testapiv1.Book{Title: "P"}, RequestId: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	const query = "?page_size=10&tags=a&tags=b&filter.author=bob&filter.minPages=3&genre=SCIENCE&available=true" +
		"&ids=1&ids=2&limit=5&minPrice=1.5&token=AQID&labels[env]=prod"
	cases := []struct {
		name string
		request
	}{
		{"path var", request{method: "GET", path: "/v1/shelves/42"}},
		{"additional binding", request{method: "GET", path: "/v1beta/shelf/42"}},
		{"path var not a number", request{method: "GET", path: "/v1/shelves/abc"}},
		{"path var out of range", request{method: "GET", path: "/v1/shelves/99999999999999999999"}},
		{"plain gRPC status", request{method: "GET", path: "/v1/shelves/-1"}},
		{"HEAD by GET", request{method: "HEAD", path: "/v1/shelves/1"}},
		{"nested pattern", request{method: "GET", path: "/v1/shelves/1/books/2"}},
		{"escaped slash kept", request{method: "GET", path: "/v1/shelves/1/books/a%2Fb"}},
		{"escaped unicode", request{method: "GET", path: "/v1/shelves/1/books/%E4%B8%AD%20x"}},
		{"invalid UTF-8 in path", request{method: "GET", path: "/v1/shelves/1/books/%ff"}},
		{"Zelos error", request{method: "GET", path: "/v1/shelves/1/books/x-missing"}},
		{"query params", request{method: "GET", path: "/v1/shelves/7/books" + query}},
		{"query bad number", request{method: "GET", path: "/v1/shelves/7/books?page_size=abc"}},
		{"query bad enum", request{method: "GET", path: "/v1/shelves/7/books?genre=NOPE"}},
		{"query bad string", request{method: "GET", path: "/v1/shelves/7/books?tags=%ff"}},
		{"query bad escape", request{method: "GET", path: "/v1/shelves/7/books?tags=%zz"}},
		{"path wins over query", request{method: "GET", path: "/v1/shelves/7/books?shelf=9"}},
		{"unknown query ignored", request{method: "GET", path: "/v1/shelves/7/books?nope=1"}},
		{"body star", request{method: "POST", path: "/v1/shelves/3/books", ct: "application/json",
			body: []byte(`{"book":{"title":"T","genre":"FICTION","tags":["x"],"pageCount":12,"published":"2024-05-01T10:00:00Z"},"requestId":"r1"}`)}},
		{"body proto names", request{method: "POST", path: "/v1/shelves/3/books", body: []byte(`{"book":{"page_count":3},"request_id":"r2"}`)}},
		{"body with charset", request{method: "POST", path: "/v1/shelves/3/books", ct: "application/json; charset=utf-8", body: []byte(`{"requestId":"r3"}`)}},
		{"body +json", request{method: "POST", path: "/v1/shelves/3/books", ct: "application/vnd.api+json", body: []byte(`{"requestId":"r4"}`)}},
		{"body proto", request{method: "POST", path: "/v1/shelves/3/books", ct: "application/x-protobuf", body: protoBody}},
		{"body bad proto", request{method: "POST", path: "/v1/shelves/3/books", ct: "application/x-protobuf", body: []byte{0xff, 0xff}}},
		{"body form", request{method: "POST", path: "/v1/shelves/1/books/2:archive", ct: "application/x-www-form-urlencoded", body: []byte("reason=old&book=9")}},
		{"body path wins", request{method: "POST", path: "/v1/shelves/3/books", body: []byte(`{"shelf":"99","requestId":"r5"}`)}},
		{"query beside body star", request{method: "POST", path: "/v1/shelves/3/books?requestId=q", body: []byte(`{"book":{}}`)}},
		{"query beside empty body star", request{method: "POST", path: "/v1/shelves/3/books?requestId=q", body: []byte{}}},
		{"query beside body field", request{method: "PATCH", path: "/v1/shelves/1/books/2?book.title=q&update_mask=title", body: []byte(`{"genre":"FICTION"}`)}},
		{"body empty", request{method: "POST", path: "/v1/shelves/3/books", body: []byte{}}},
		{"body unknown field", request{method: "POST", path: "/v1/shelves/3/books", body: []byte(`{"nope":1,"requestId":"r6"}`)}},
		{"body malformed", request{method: "POST", path: "/v1/shelves/3/books", body: []byte(`{"book":`)}},
		{"body wrong type", request{method: "POST", path: "/v1/shelves/3/books", body: []byte(`{"book":"x"}`)}},
		{"body invalid UTF-8", request{method: "POST", path: "/v1/shelves/3/books", body: []byte("{\"requestId\":\"\xff\"}")}},
		{"body not JSON", request{method: "POST", path: "/v1/shelves/3/books", body: []byte(`hello`)}},
		{"body unsupported type", request{method: "POST", path: "/v1/shelves/3/books", ct: "text/plain", body: []byte(`x`)}},
		{"body yaml refused", request{method: "POST", path: "/v1/shelves/3/books", ct: "application/yaml", body: []byte(`requestId: y`)}},
		{"body field", request{method: "PATCH", path: "/v1/shelves/1/books/2?update_mask=title,genre", body: []byte(`{"title":"New","name":"ignored"}`)}},
		{"body field malformed", request{method: "PATCH", path: "/v1/shelves/1/books/2", body: []byte(`[1,2]`)}},
		{"body field empty", request{method: "PATCH", path: "/v1/shelves/1/books/2", body: []byte{}}},
		{"delete", request{method: "DELETE", path: "/v1/shelves/1/books/2"}},
		{"delete error metadata", request{method: "DELETE", path: "/v1/shelves/1/books/zz-missing"}},
		{"response_body", request{method: "GET", path: "/v1/authors/a1"}},
		{"custom verb", request{method: "POST", path: "/v1/shelves/1/books/2:archive", body: []byte(`{"reason":"old"}`)}},
		{"custom verb bad var", request{method: "POST", path: "/v1/shelves/1/books/x:archive", body: []byte(`{}`)}},
		{"unknown verb", request{method: "POST", path: "/v1/shelves/1/books/2:burn", body: []byte(`{}`)}},
		{"no route", request{method: "GET", path: "/v1/nothing"}},
		{"method not allowed", request{method: "PUT", path: "/v1/shelves/1"}},
		{"server stream refused", request{method: "GET", path: "/v1/shelves/0:watch"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, e.gw, tc.request)
			want := do(t, e.zelos, tc.request)
			t.Logf("%d %s", got.status, got.body)
			if got.status != want.status {
				t.Fatalf("status %d, the service's %d\n gateway: %s\n service: %s", got.status, want.status, got.body, want.body)
			}
			if g, w := mediaType(got.header), mediaType(want.header); g != w {
				t.Errorf("Content-Type %q, the service's %q", g, w)
			}
			if g, w := got.header.Get("Allow"), want.header.Get("Allow"); g != w {
				t.Errorf("Allow %q, the service's %q", g, w)
			}
			if !sameJSON(got.body, want.body) {
				t.Errorf("body differs\n gateway: %s\n service: %s", got.body, want.body)
			}
			if got.status >= 500 {
				t.Errorf("status %d for %s", got.status, got.body)
			}
		})
	}
}

func mediaType(h http.Header) string {
	mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return mt
}

// TestTranscoding checks the decoded requests and the replies themselves,
// not only that they match the service's.
func TestTranscoding(t *testing.T) {
	e := newEnv(t)
	t.Run("path var", func(t *testing.T) {
		m := get(t, e.gw, "/v1/shelves/42").json(t)
		if m["id"] != "42" || m["theme"] != "theme 42" {
			t.Fatalf("reply %v", m)
		}
	})
	t.Run("nested path var", func(t *testing.T) {
		r := do(t, e.gw, request{method: "PATCH", path: "/v1/shelves/1/books/a%20b?update_mask=title", body: []byte(`{"title":"New"}`)})
		m := r.json(t)
		if m["name"] != "shelves/1/books/a b" || m["title"] != "New" || !slices.Equal(strs(m["tags"]), []string{"title"}) {
			t.Fatalf("reply %s", r.body)
		}
	})
	t.Run("multi-segment var keeps %2F", func(t *testing.T) {
		if m := get(t, e.gw, "/v1/shelves/1/books/a%2Fb").json(t); m["name"] != "shelves/1/books/a%2Fb" {
			t.Fatalf("reply %v", m)
		}
	})
	t.Run("query params", func(t *testing.T) {
		m := get(t, e.gw, "/v1/shelves/7/books?page_size=10&tags=a&tags=b&filter.author=bob&filter.min_pages=3&genre=SCIENCE&ids=1&ids=2&labels[env]=prod&token=AQID").json(t)
		req := m["request"].(map[string]any)
		filter := req["filter"].(map[string]any)
		if req["shelf"] != "7" || req["pageSize"] != float64(10) || !slices.Equal(strs(req["tags"]), []string{"a", "b"}) ||
			filter["author"] != "bob" || filter["minPages"] != float64(3) || req["genre"] != "SCIENCE" ||
			!slices.Equal(strs(req["ids"]), []string{"1", "2"}) || req["labels"].(map[string]any)["env"] != "prod" || req["token"] != "AQID" {
			t.Fatalf("request as received %v", req)
		}
	})
	t.Run("body star", func(t *testing.T) {
		r := do(t, e.gw, request{method: "POST", path: "/v1/shelves/3/books", body: []byte(`{"book":{"title":"T","genre":"FICTION"},"requestId":"r1"}`)})
		m := r.json(t)
		if m["name"] != "shelves/3/books/r1" || m["title"] != "T" || m["genre"] != "FICTION" {
			t.Fatalf("reply %s", r.body)
		}
		// EmitUnpopulated, as the Zelos JSON codec.
		if _, ok := m["pageCount"]; !ok {
			t.Errorf("unpopulated pageCount missing from %s", r.body)
		}
	})
	t.Run("response_body", func(t *testing.T) {
		r := get(t, e.gw, "/v1/authors/a1")
		m := r.json(t)
		if m["id"] != "a1" || m["displayName"] != "Author a1" || m["etag"] != nil {
			t.Fatalf("reply %s, want the author only", r.body)
		}
	})
	t.Run("Zelos error", func(t *testing.T) {
		m := do(t, e.gw, request{method: "DELETE", path: "/v1/shelves/1/books/zz-missing"}).errorBody(t, 404, "BOOK_NOT_FOUND")
		md, _ := m["metadata"].(map[string]any)
		if md["name"] != "shelves/1/books/zz-missing" || m["message"] != "book shelves/1/books/zz-missing not found" {
			t.Fatalf("error %v", m)
		}
	})
	t.Run("plain gRPC status", func(t *testing.T) {
		get(t, e.gw, "/v1/shelves/-1").errorBody(t, 400, "OUT_OF_RANGE")
	})
	t.Run("malformed JSON", func(t *testing.T) {
		for _, body := range []string{`{"book":`, `{`, `nul`, `{"book":{"pageCount":"x"}}`, "\x00", `{"requestId":1}`} {
			r := do(t, e.gw, request{method: "POST", path: "/v1/shelves/3/books", body: []byte(body)})
			r.errorBody(t, 400, "BAD_REQUEST_BODY")
		}
	})
	t.Run("invalid path var", func(t *testing.T) {
		m := get(t, e.gw, "/v1/shelves/x1").errorBody(t, 400, "INVALID_PATH")
		if md, _ := m["metadata"].(map[string]any); md["field"] != "id" {
			t.Fatalf("error %v does not name the field", m)
		}
		get(t, e.gw, "/v1/shelves/1/books/%ff").errorBody(t, 400, "INVALID_PATH")
	})
	t.Run("invalid query", func(t *testing.T) {
		m := get(t, e.gw, "/v1/shelves/7/books?page_size=abc").errorBody(t, 400, "INVALID_QUERY")
		if !contains(m["message"].(string), "page_size") {
			t.Fatalf("error %v does not name the field", m)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		get(t, e.gw, "/v2/shelves/1").errorBody(t, 404, "NOT_FOUND")
		if _, _, ok := e.tc.Match("GET", "/v2/shelves/1"); ok {
			t.Fatal("Match matched an unknown path")
		}
		if _, _, ok := e.tc.Match("POST", "/v1/shelves/1"); ok {
			t.Fatal("Match matched an unknown method")
		}
		if got := e.tc.Allowed("/v1/shelves/1"); !slices.Equal(got, []string{"GET", "HEAD"}) {
			t.Fatalf("Allowed = %v", got)
		}
		// Methods without a rule, and client streams, get no route.
		for _, b := range e.tc.Bindings() {
			if n := b.Method().Name(); n == "Ping" || n == "Upload" {
				t.Fatalf("%s has a route", n)
			}
		}
	})
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestBodySize checks the body bound: 413 by Content-Length or by the
// bytes read, never 500.
func TestBodySize(t *testing.T) {
	e := newEnv(t, transcode.MaxBodySize(64))
	small := []byte(`{"requestId":"ok"}`)
	big := []byte(`{"requestId":"` + strings.Repeat("x", 100) + `"}`)
	if r := do(t, e.gw, request{method: "POST", path: "/v1/shelves/1/books", body: small}); r.status != 200 {
		t.Fatalf("small body: %d %s", r.status, r.body)
	}
	do(t, e.gw, request{method: "POST", path: "/v1/shelves/1/books", body: big}).errorBody(t, 413, "BODY_TOO_LARGE")
	t.Run("default bound", func(t *testing.T) {
		tc, err := transcode.New(apiFiles(t))
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"requestId":"` + strings.Repeat("x", transcode.DefaultMaxBodySize) + `"}`)
		serve(tc, e.conn, request{method: "POST", path: "/v1/shelves/1/books", body: body}).errorBody(t, 413, "BODY_TOO_LARGE")
	})
	t.Run("chunked", func(t *testing.T) {
		// No Content-Length: the bound applies to the bytes read.
		req, err := http.NewRequest("POST", e.gw+"/v1/shelves/1/books", strings.NewReader(string(big)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}

// TestDescriptorSet loads the routes from a FileDescriptorSet file, with
// and without its imports, and calls through them.
func TestDescriptorSet(t *testing.T) {
	e := newEnv(t)
	if got := routes(e.tc); !slices.Equal(got, wantRoutes) {
		t.Fatalf("routes from reflection:\n%s", strings.Join(got, "\n"))
	}
	for _, withImports := range []bool{true, false} {
		name := "with imports"
		if !withImports {
			name = "imports from the binary"
		}
		t.Run(name, func(t *testing.T) {
			data, err := proto.Marshal(fileSet(withImports))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "api.pb")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			files, err := transcode.LoadDescriptorSet(path)
			if err != nil {
				t.Fatal(err)
			}
			tc := newWithRoutes(t, files, wantRoutes)
			rec := serve(tc, e.conn, request{method: "GET", path: "/v1/shelves/1/books/b7"})
			if rec.status != 200 || !contains(squash(rec.body), `"title":"titleofshelves/1/books/b7"`) {
				t.Fatalf("reply %d %s", rec.status, rec.body)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		dir := t.TempDir()
		garbage := filepath.Join(dir, "garbage.pb")
		if err := os.WriteFile(garbage, []byte("not a descriptor set"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{filepath.Join(dir, "missing.pb"), garbage} {
			if _, err := transcode.LoadDescriptorSet(path); err == nil || !strings.HasPrefix(err.Error(), "transcode: ") {
				t.Errorf("LoadDescriptorSet(%s) = %v", filepath.Base(path), err)
			}
		}
	})
}

// TestUnreachable checks that a backend that cannot be reached is a 503
// naming the gRPC service, never its address.
func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	conn := dial(t, addr)
	tc, err := transcode.New(apiFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/shelves/1", "/v1/shelves/1:watch"} {
		r := serve(tc, conn, request{method: "GET", path: path})
		m := r.errorBody(t, 503, "UNAVAILABLE")
		if m["message"] != "service zelos.gateway.testapi.v1.Library is unavailable" || contains(string(r.body), "127.0.0.1") {
			t.Errorf("%s: error %s", path, r.body)
		}
	}
}

// TestUnparsedOptions loads descriptors whose method options were parsed
// without the google.api.http extension known, so that the rules are
// unknown fields: they must give the same routes.
func TestUnparsedOptions(t *testing.T) {
	data, err := proto.Marshal(fileSet(true))
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := (proto.UnmarshalOptions{Resolver: new(protoregistry.Types)}).Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	newWithRoutes(t, files, wantRoutes)
}
