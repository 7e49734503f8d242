package http

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
)

type user struct {
	XMLName xml.Name `json:"-" xml:"user" yaml:"-" form:"-"`
	ID      int64    `json:"id" xml:"id" yaml:"id" form:"id"`
	Name    string   `json:"name" xml:"name" yaml:"name" form:"name"`
}

func TestBindContentTypes(t *testing.T) {
	srv, base := startServer(t, RequestCodecs("json", "proto", "xml", "form", "multipart", "yaml"))
	srv.Route("/").POST("/users", func(ctx Context) error {
		var u user
		if err := ctx.Bind(&u); err != nil {
			return err
		}
		return ctx.String(200, fmt.Sprintf("%d %s", u.ID, u.Name))
	})
	Unary(srv.Route("/"), "POST", "/resources/{resource_type}", "/google.rpc.Svc/Put",
		func(ctx context.Context, in *errdetails.ResourceInfo) (*errdetails.ResourceInfo, error) {
			return in, nil
		})

	yamlBody, _ := yaml.Marshal(map[string]any{"id": 4, "name": "yan"})
	pb, _ := proto.Marshal(&errdetails.ResourceInfo{ResourceName: "n1", Owner: "o1"})
	c := testClient(t)
	tests := []struct {
		ct, body, want string
	}{
		{"application/json", `{"id":1,"name":"jo"}`, "1 jo"},
		{"application/json; charset=utf-8", `{"id":1,"name":"jo"}`, "1 jo"},
		{"application/problem+json", `{"id":1,"name":"jo"}`, "1 jo"},
		{"", `{"id":1,"name":"jo"}`, "1 jo"},
		{"application/x-www-form-urlencoded", "id=2&name=fo", "2 fo"},
		{"application/xml", "<user><id>3</id><name>xa</name></user>", "3 xa"},
		{"text/xml", "<user><id>3</id><name>xa</name></user>", "3 xa"},
		{"application/yaml", string(yamlBody), "4 yan"},
		{"application/x-yaml", string(yamlBody), "4 yan"},
	}
	for _, tt := range tests {
		got := do(t, c, "POST", base+"/users", tt.ct, tt.body)
		if got.status != 200 || got.body != tt.want {
			t.Errorf("POST %q = %d %q, want %q", tt.ct, got.status, got.body, tt.want)
		}
	}
	// Multipart values.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("id", "5")
	_ = mw.WriteField("name", "mu")
	_ = mw.Close()
	if got := do(t, c, "POST", base+"/users", mw.FormDataContentType(), mp.String()); got.body != "5 mu" {
		t.Errorf("multipart = %d %q", got.status, got.body)
	}
	// Protobuf, both media types, into a generated message; path wins.
	for _, ct := range []string{"application/x-protobuf", "application/protobuf"} {
		got := do(t, c, "POST", base+"/resources/t1", ct, string(pb), "Accept", "application/x-protobuf")
		var out errdetails.ResourceInfo
		if err := proto.Unmarshal([]byte(got.body), &out); err != nil || got.status != 200 {
			t.Fatalf("proto %s = %d %q: %v", ct, got.status, got.body, err)
		}
		if out.ResourceType != "t1" || out.ResourceName != "n1" || out.Owner != "o1" {
			t.Errorf("proto %s echo = %v", ct, &out)
		}
		if got.header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("proto reply Content-Type = %q", got.header.Get("Content-Type"))
		}
	}
}

type upload struct {
	Title string                  `json:"title"`
	File  *multipart.FileHeader   `json:"file"`
	All   []*multipart.FileHeader `json:"all"`
	Data  []byte                  `json:"data"`
}

func TestMultipartUpload(t *testing.T) {
	srv, base := startServer(t)
	srv.Route("/").POST("/upload", func(ctx Context) error {
		var u upload
		if err := ctx.Bind(&u); err != nil {
			return err
		}
		fh, err := ctx.FormFile("file")
		if err != nil {
			return err
		}
		if _, err := ctx.FormFile("nope"); err == nil {
			return fmt.Errorf("FormFile of a missing file succeeded")
		}
		f, err := u.File.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(f)
		return ctx.String(200, fmt.Sprintf("%s|%s|%s|%d|%s|%s", u.Title, u.File.Filename, buf.String(), len(u.All), u.Data, fh.Filename))
	})
	// A generated message with a bytes field gets the file content.
	Unary(srv.Route("/"), "POST", "/blob", "/Svc/Blob",
		func(ctx context.Context, in *errdetails.DebugInfo) (*errdetails.DebugInfo, error) { return in, nil })

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("title", "report")
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("hello file"))
	fw, _ = mw.CreateFormFile("all", "b.txt")
	_, _ = fw.Write([]byte("b"))
	fw, _ = mw.CreateFormFile("all", "c.txt")
	_, _ = fw.Write([]byte("c"))
	fw, _ = mw.CreateFormFile("data", "d.bin")
	_, _ = fw.Write([]byte("raw"))
	_ = mw.Close()
	c := testClient(t)
	got := do(t, c, "POST", base+"/upload", mw.FormDataContentType(), mp.String())
	if want := "report|a.txt|hello file|2|raw|a.txt"; got.status != 200 || got.body != want {
		t.Errorf("upload = %d %q, want %q", got.status, got.body, want)
	}

	// Missing file.
	mp.Reset()
	mw = multipart.NewWriter(&mp)
	_ = mw.WriteField("title", "x")
	_ = mw.Close()
	got = do(t, c, "POST", base+"/upload", mw.FormDataContentType(), mp.String())
	if _, reason, _, _ := errBody(t, got); got.status != 400 || reason != ReasonMissingFile {
		t.Errorf("missing file = %d %q", got.status, got.body)
	}
}

func TestUnaryBinding(t *testing.T) {
	type shelf struct {
		Name string `json:"name"`
	}
	type book struct {
		Shelf *shelf `json:"shelf"`
		ID    int64  `json:"id"`
		Title string `json:"title"`
		Page  int32  `json:"page"`
	}
	type bookReq struct {
		Book   *book  `json:"book"`
		Parent string `json:"parent"`
		Filter string `json:"filter"`
	}
	type envelope struct {
		Data *book `json:"data"`
	}
	srv, base := startServer(t)
	r := srv.Route("/v1")
	Unary(r, "PUT", "/{parent=shelves/*}/books/{book.id}", "/lib.Lib/Update",
		func(ctx context.Context, in *bookReq) (*envelope, error) {
			if in.Filter == "nil" {
				return nil, nil
			}
			in.Book.Title += "|" + in.Filter + "|" + in.Parent
			return &envelope{Data: in.Book}, nil
		}, Body("book"), ResponseBody("data"))
	Unary(r, "GET", "/books/{id}", "/lib.Lib/Get",
		func(ctx context.Context, in *book) (*book, error) { return in, nil })
	c := testClient(t)

	got := do(t, c, "PUT", base+"/v1/shelves/s1/books/7?filter=f&book.page=3", "application/json", `{"id":99,"title":"T"}`)
	if want := `{"shelf":null,"id":7,"title":"T|f|shelves/s1","page":3}`; got.status != 200 || got.body != want {
		t.Errorf("update = %d %q, want %q", got.status, got.body, want)
	}
	// GET: no body by default; query then path.
	got = do(t, c, "GET", base+"/v1/books/5?title=q&id=1", "", "")
	if want := `{"shelf":null,"id":5,"title":"q","page":0}`; got.body != want {
		t.Errorf("get = %d %q, want %q", got.status, got.body, want)
	}
	// A bad path value names the variable.
	got = do(t, c, "GET", base+"/v1/books/abc", "", "")
	if _, reason, msg, md := errBody(t, got); got.status != 400 || reason != ReasonInvalidPath || !strings.Contains(msg, `"id"`) || md["field"] != "id" {
		t.Errorf("bad id = %d %q", got.status, got.body)
	}
	// A nil reply is an empty message, whose (nil) data field is null.
	got = do(t, c, "PUT", base+"/v1/shelves/s1/books/7?filter=nil", "application/json", `{}`)
	if got.status != 200 || got.body != "null" {
		t.Errorf("nil reply = %d %q", got.status, got.body)
	}
	// The parent variable needs its two segments.
	got = do(t, c, "PUT", base+"/v1/shelves/books/7", "application/json", `{}`)
	if got.status != 404 {
		t.Errorf("bad parent = %d %q", got.status, got.body)
	}
}

func TestAcceptNegotiation(t *testing.T) {
	srv, base := startServer(t)
	r := srv.Route("/")
	r.GET("/user", func(ctx Context) error { return ctx.Result(200, &user{ID: 1, Name: "a"}) })
	Unary(r, "GET", "/res/{resource_name}", "/Svc/Get",
		func(ctx context.Context, in *errdetails.ResourceInfo) (*errdetails.ResourceInfo, error) {
			return in, nil
		})
	c := testClient(t)
	tests := []struct {
		path, accept, ct, body string
		status                 int
	}{
		{"/user", "", "application/json", `{"id":1,"name":"a"}`, 200},
		{"/user", "*/*", "application/json", `{"id":1,"name":"a"}`, 200},
		{"/user", "text/html, application/xml;q=0.9, */*;q=0.8", "application/xml", "<user><id>1</id><name>a</name></user>", 200},
		{"/user", "application/yaml", "application/yaml", "id: 1\nname: a\n", 200},
		{"/user", "application/json;q=0.5, application/x-yaml", "application/x-yaml", "id: 1\nname: a\n", 200},
		{"/user", "image/png", "application/json", `{"id":1,"name":"a"}`, 200},
		{"/user", "application/x-protobuf", "application/json", "", 406},
		{"/res/r1", "application/json", "application/json", "", 200},
	}
	for _, tt := range tests {
		got := do(t, c, "GET", base+tt.path, "", "", "Accept", tt.accept)
		if got.status != tt.status || got.header.Get("Content-Type") != tt.ct || (tt.body != "" && got.body != tt.body) {
			t.Errorf("Accept %q = %d %q %q", tt.accept, got.status, got.header.Get("Content-Type"), got.body)
		}
	}
}

func TestMalformedInputIs4xx(t *testing.T) {
	srv, base := startServer(t, MaxBodySize(1024), RequestCodecs("json", "proto", "xml", "form", "multipart", "yaml"))
	r := srv.Route("/")
	Unary(r, "POST", "/users/{id}", "/Svc/Create",
		func(ctx context.Context, in *user) (*user, error) { return in, nil })
	Unary(r, "POST", "/res/{resource_name}", "/Svc/Res",
		func(ctx context.Context, in *errdetails.ResourceInfo) (*errdetails.ResourceInfo, error) {
			return in, nil
		})
	r.POST("/form", func(ctx Context) error {
		var u user
		if err := ctx.BindForm(&u); err != nil {
			return err
		}
		return ctx.Result(200, &u)
	})
	big := strings.Repeat("x", 2000)
	tests := []struct {
		name, path, ct, body string
		status               int
		reason, msgPart      string
	}{
		{"malformed json", "/users/1", "application/json", `{"name":`, 400, ReasonBadRequestBody, "json"},
		{"wrong json type", "/users/1", "application/json", `{"name":5}`, 400, ReasonBadRequestBody, "name"},
		{"malformed protojson", "/res/a", "application/json", `{"resourceName":`, 400, ReasonBadRequestBody, "json"},
		{"unknown enum-ish field value", "/res/a", "application/json", `{"owner":{}}`, 400, ReasonBadRequestBody, "owner"},
		{"malformed proto", "/res/a", "application/x-protobuf", "\xff\xff\xff", 400, ReasonBadRequestBody, "proto"},
		{"malformed xml", "/users/1", "application/xml", "<user><id>", 400, ReasonBadRequestBody, "xml"},
		{"malformed yaml", "/users/1", "application/yaml", "id: [", 400, ReasonBadRequestBody, "yaml"},
		{"bad form value", "/users/1", "application/x-www-form-urlencoded", "id=abc", 400, ReasonBadRequestBody, "id"},
		{"bad form escape", "/users/1", "application/x-www-form-urlencoded", "id=%zz", 400, ReasonBadRequestBody, "form"},
		{"bad multipart", "/users/1", "multipart/form-data; boundary=zz", "garbage", 400, ReasonBadRequestBody, "multipart"},
		{"multipart without boundary", "/users/1", "multipart/form-data", "garbage", 400, ReasonBadRequestBody, "multipart"},
		{"unknown content type", "/users/1", "text/csv", "a,b", 415, ReasonUnsupportedMediaType, "text/csv"},
		{"bad query value", "/users/1?id=abc", "application/json", `{}`, 400, ReasonInvalidQuery, `"id"`},
		{"bad query escape", "/users/1?id=%zz", "application/json", `{}`, 400, ReasonInvalidQuery, "query"},
		{"bad path value", "/users/abc", "application/json", `{}`, 400, ReasonInvalidPath, `"id"`},
		{"too large", "/users/1", "application/json", `{"name":"` + big + `"}`, 413, ReasonBodyTooLarge, "1024"},
		{"too large form", "/form", "application/x-www-form-urlencoded", "name=" + big, 413, ReasonBodyTooLarge, "1024"},
		{"bad form body", "/form", "application/x-www-form-urlencoded", "id=x", 400, ReasonBadRequestBody, "id"},
	}
	c := testClient(t)
	for _, tt := range tests {
		got := do(t, c, "POST", base+tt.path, tt.ct, tt.body)
		code, reason, msg, _ := errBody(t, got)
		if got.status != tt.status || code != tt.status || reason != tt.reason || !strings.Contains(msg, tt.msgPart) {
			t.Errorf("%s: %d %s, want %d %s mentioning %q", tt.name, got.status, got.body, tt.status, tt.reason, tt.msgPart)
		}
	}
}

func TestOversizeChunkedBody(t *testing.T) {
	srv, base := startServer(t, MaxBodySize(100))
	Unary(srv.Route("/"), "POST", "/u", "/Svc/U", func(ctx context.Context, in *user) (*user, error) { return in, nil })
	body := `{"name":"` + strings.Repeat("y", 500) + `"}`
	// An io.Reader of unknown length makes the client send a chunked body.
	req, _ := nethttp.NewRequest("POST", base+"/u", struct{ *strings.Reader }{strings.NewReader(body)})
	req.Header.Set("Content-Type", "application/json")
	res, err := testClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 413 || res.ContentLength == 0 {
		t.Errorf("chunked oversize = %d", res.StatusCode)
	}
}

// A plain handler gets a copy of the request; the temporary files of a
// multipart form it parses must still be removed after the request.
func TestPlainHandlerMultipartTempFilesRemoved(t *testing.T) {
	srv := NewServer(Logger(discard))
	var tmp string
	srv.HandleFunc("POST /upload", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if err := r.ParseMultipartForm(0); err != nil { // files go to disk
			nethttp.Error(w, err.Error(), 400)
			return
		}
		f, err := r.MultipartForm.File["file"][0].Open()
		if err != nil {
			nethttp.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		if osf, ok := f.(*os.File); ok {
			tmp = osf.Name()
		}
	})
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("on disk"))
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/upload", &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("upload = %d %q", w.Code, w.Body.String())
	}
	if tmp == "" {
		t.Fatal("the uploaded file was not stored on disk")
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		_ = os.Remove(tmp)
		t.Errorf("temporary file %s still exists after the request (stat: %v)", tmp, err)
	}
}

// stingyBody announces a large body but sends only a few bytes.
type stingyBody struct{ sent bool }

func (b *stingyBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, io.ErrUnexpectedEOF
	}
	b.sent = true
	return copy(p, `{"id":1`), nil
}

func (*stingyBody) Close() error { return nil }

// A Content-Length is a claim, not data: the decoder must not allocate
// what a client announces before it sends it.
func TestDecoderDoesNotTrustContentLength(t *testing.T) {
	req := httptest.NewRequest("POST", "/", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Body = &stingyBody{}
	req.ContentLength = 60 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var u user
	err := DefaultRequestDecoder(req, &u)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("decoding a truncated body succeeded")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("decoding a 7-byte body announced as 60 MiB allocated %d MiB", got>>20)
	}
}
