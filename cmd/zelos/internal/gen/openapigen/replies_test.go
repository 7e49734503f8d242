package openapigen_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/log"
	"github.com/zelos-go/zelos/transport/http"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gen/openapigen"
	userv1 "github.com/zelos-go/zelos/cmd/zelos/internal/gen/openapigen/testdata/e2e/api/user/v1"
	bookstorev1 "github.com/zelos-go/zelos/cmd/zelos/internal/gen/openapigen/testdata/e2e/bookstore/v1"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
)

// store is a bookstore whose replies are as full or as empty as the
// request asks: book 2 has every field set, book 3 none, book 404 is an
// error.
type store struct{}

func fullBook(name string) *bookstorev1.Book {
	pages := uint32(320)
	return &bookstorev1.Book{
		Name: name, Id: 2, Author: "Le Guin", Title: "The Dispossessed",
		Genre: bookstorev1.Genre_FICTION, Tags: []string{"sf", "utopia"},
		Attributes: map[string]string{"edition": "first"},
		Published:  timestamppb.New(time.Date(1974, 5, 1, 0, 0, 0, 0, time.UTC)),
		ReadTime:   durationpb.New(90 * time.Minute),
		Subtitle:   wrapperspb.String("An Ambiguous Utopia"),
		Cover:      []byte{0xff, 0xd8}, Price: 9.5, Pages: &pages,
		Format:  &bookstorev1.Book_Isbn{Isbn: "0-06-012563-2"},
		Authors: map[string]*bookstorev1.Author{"ul": {Id: "ul", Name: "Ursula", Living: false}},
	}
}

func (store) ListShelves(context.Context, *emptypb.Empty) (*bookstorev1.ListShelvesResponse, error) {
	return &bookstorev1.ListShelvesResponse{Shelves: []*bookstorev1.Shelf{{Id: 1, Theme: "poems"}, {}}}, nil
}

func (store) CreateShelf(_ context.Context, in *bookstorev1.CreateShelfRequest) (*bookstorev1.Shelf, error) {
	if in.GetShelf().GetTheme() == "full" {
		return nil, errors.New(409, "SHELF_FULL", "no room for another shelf").WithMetadata(map[string]string{"max": "10"})
	}
	return &bookstorev1.Shelf{Id: 7, Theme: in.GetShelf().GetTheme()}, nil
}

func (store) GetBook(_ context.Context, in *bookstorev1.GetBookRequest) (*bookstorev1.Book, error) {
	switch {
	case strings.HasSuffix(in.GetName(), "/404") || in.GetBook() == 404:
		return nil, errors.Newf(404, "BOOK_NOT_FOUND", "book %s not found", in.GetName())
	case strings.HasSuffix(in.GetName(), "/3") || in.GetBook() == 3:
		return &bookstorev1.Book{}, nil
	case strings.HasSuffix(in.GetName(), "/500"):
		panic("a bug in GetBook")
	}
	return fullBook(in.GetName()), nil
}

func (store) UpdateBook(_ context.Context, in *bookstorev1.UpdateBookRequest) (*bookstorev1.Book, error) {
	return in.GetBook(), nil
}

func (store) ReplaceBook(_ context.Context, in *bookstorev1.ReplaceBookRequest) (*bookstorev1.Book, error) {
	return in.GetBook(), nil
}

func (store) DeleteBook(context.Context, *bookstorev1.DeleteBookRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (store) GetAuthor(_ context.Context, in *bookstorev1.GetAuthorRequest) (*bookstorev1.GetAuthorResponse, error) {
	if in.GetId() == "nobody" {
		return &bookstorev1.GetAuthorResponse{}, nil
	}
	return &bookstorev1.GetAuthorResponse{Author: &bookstorev1.Author{Id: in.GetId(), Name: "Ursula"}}, nil
}

func (store) CheckBook(context.Context, *bookstorev1.CheckBookRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (store) ArchiveBook(_ context.Context, in *bookstorev1.ArchiveBookRequest) (*bookstorev1.Book, error) {
	return &bookstorev1.Book{Id: in.GetBook()}, nil
}

// WatchShelf sends a full event, an empty one, and then fails on shelf 9.
func (store) WatchShelf(in *bookstorev1.WatchShelfRequest, stream grpc.ServerStreamingServer[bookstorev1.ShelfEvent]) error {
	if err := stream.Send(&bookstorev1.ShelfEvent{Kind: "added", Book: fullBook("shelves/1/books/2")}); err != nil {
		return err
	}
	if err := stream.Send(&bookstorev1.ShelfEvent{}); err != nil {
		return err
	}
	if in.GetShelf() == 9 {
		return errors.New(409, "SHELF_FULL", "shelf 9 is full")
	}
	return nil
}

// users has user 1 with every field set, user 2 with none, and no user 404.
type users struct{}

func (users) GetUser(_ context.Context, in *userv1.GetUserRequest) (*userv1.GetUserReply, error) {
	switch in.GetId() {
	case "1":
		return &userv1.GetUserReply{User: &userv1.User{Id: "1", Name: "Ann", Email: "ann@example.com",
			CreatedAt: timestamppb.New(time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC))}}, nil
	case "2":
		return &userv1.GetUserReply{User: &userv1.User{Id: "2"}}, nil
	case "3":
		return &userv1.GetUserReply{}, nil
	}
	return nil, errors.New(404, "USER_NOT_FOUND", "no user "+in.GetId())
}

func (users) CreateUser(_ context.Context, in *userv1.CreateUserRequest) (*userv1.CreateUserReply, error) {
	if in.GetName() == "taken" {
		return nil, errors.New(409, "USER_EXISTS", "user exists")
	}
	return &userv1.CreateUserReply{User: &userv1.User{Id: "9", Name: in.GetName(), Email: in.GetEmail()}}, nil
}

// validationOptions make the validator as exacting as it can be with
// proto3 JSON:
//   - format assertions check date-time (Timestamp) and the like, not just
//     note them;
//   - strict mode rejects properties the schemas do not declare, but it
//     reports map entries too (additionalProperties schemas), so the test
//     protos' map fields are left to the ordinary validation;
//   - the radix path tree takes /v1/shelves/1/books/2:archive for
//     /v1/shelves/{shelf}/books/{book} (its {book} swallows ":archive")
//     and then finds no POST there, so it is replaced by one that finds
//     nothing, leaving the matching to the regular expressions that know
//     such segments. (DisablePathTree is not enough in v0.14.0: the
//     router then builds a tree of its own.)
var validationOptions = []config.Option{
	config.WithFormatAssertions(),
	config.WithStrictMode(),
	config.WithStrictIgnorePaths("$.**.attributes.*", "$.**.authors.*", "$.**.metadata.*"),
	config.WithPathTree(noPathTree{}),
}

type noPathTree struct{}

func (noPathTree) Lookup(string) (*v3.PathItem, string, bool) { return nil, "", false }

// newServer returns an HTTP server serving the bookstore and user
// services. Its log is dropped: the panic case logs a stack on purpose.
func newServer() *http.Server {
	hs := http.NewServer(http.Logger(log.NewStdLogger(io.Discard)))
	bookstorev1.RegisterBookstoreHTTPServer(hs, store{})
	userv1.RegisterUserServiceHTTPServer(hs, users{})
	return hs
}

// documentValidators generates the OpenAPI documents of the bookstore and
// user protos and returns a validator for each, keyed by proto directory.
func documentValidators(t *testing.T) map[string]validator.Validator {
	t.Helper()
	out, err := protoc.Generate(context.Background(),
		[]string{filepath.Join(protocTestdata, "bookstore"), filepath.Join(protocTestdata, "api", "user")},
		protoc.Options{ImportPaths: []string{protocTestdata}})
	if err != nil {
		t.Fatal(err)
	}
	vs := map[string]validator.Validator{}
	for _, o := range out {
		if !strings.HasSuffix(o.Name, ".openapi.yaml") {
			continue
		}
		doc, err := libopenapi.NewDocument(o.Content)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		v, errs := validator.NewValidator(doc, validationOptions...)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", o.Name, errs)
		}
		vs[filepath.Dir(filepath.Dir(o.Name))] = v
	}
	if len(vs) != 2 {
		t.Fatalf("got documents %v, want bookstore and api/user", vs)
	}
	return vs
}

// TestRepliesMatchDocument serves the bookstore and user services with
// the real HTTP transport, calls each route with net/http, and validates
// every request and reply against the generated document: replies with
// every field set and with none (unset messages are null on the wire),
// error replies (the default response) and Server-Sent Events.
func TestRepliesMatchDocument(t *testing.T) {
	vs := documentValidators(t)
	ts := httptest.NewServer(newServer())
	defer ts.Close()

	cases := []struct {
		name, doc, method, path, body string
		status                        int
		badRequest                    bool // only the reply is validated
	}{
		{name: "list shelves", doc: "bookstore", method: "GET", path: "/v1/shelves", status: 200},
		{name: "create shelf", doc: "bookstore", method: "POST", path: "/v1/shelves?requestId=r1", body: `{"theme":"poems"}`, status: 200},
		{name: "create shelf error", doc: "bookstore", method: "POST", path: "/v1/shelves", body: `{"theme":"full"}`, status: 409},
		{name: "create shelf malformed", doc: "bookstore", method: "POST", path: "/v1/shelves", body: `{"theme":5}`, status: 400, badRequest: true},
		{name: "get full book", doc: "bookstore", method: "GET", path: "/v1/shelves/1/books/2?viewGenre=SCIENCE", status: 200},
		{name: "get empty book", doc: "bookstore", method: "GET", path: "/v1/shelves/1/books/3", status: 200},
		{name: "get missing book", doc: "bookstore", method: "GET", path: "/v1/shelves/1/books/404", status: 404},
		{name: "get book panics", doc: "bookstore", method: "GET", path: "/v1/shelves/1/books/500", status: 500},
		{name: "additional binding", doc: "bookstore", method: "GET", path: "/v2/shelves/3/books/8", status: 200},
		{name: "additional binding empty", doc: "bookstore", method: "GET", path: "/v2/shelves/3/books/3", status: 200},
		{name: "additional binding malformed", doc: "bookstore", method: "GET", path: "/v2/shelves/x/books/8", status: 400, badRequest: true},
		{name: "update book", doc: "bookstore", method: "PATCH", path: "/v1/shelves/1/books/9?updateMask=title",
			body: `{"title":"Dune","published":"2020-01-01T00:00:00Z","readTime":"1.5s","subtitle":null}`, status: 200},
		{name: "replace book", doc: "bookstore", method: "PUT", path: "/v1/shelves/4/books/5", body: `{"book":{"title":"Emma"}}`, status: 200},
		{name: "delete book", doc: "bookstore", method: "DELETE", path: "/v1/shelves/1/books/2", status: 200},
		{name: "get author", doc: "bookstore", method: "GET", path: "/v1/authors/ul", status: 200},
		{name: "get unset author", doc: "bookstore", method: "GET", path: "/v1/authors/nobody", status: 200},
		{name: "archive book", doc: "bookstore", method: "POST", path: "/v1/shelves/1/books/2:archive", status: 200},
		{name: "get full user", doc: "api/user", method: "GET", path: "/api/v1/users/1", status: 200},
		{name: "get user without created_at", doc: "api/user", method: "GET", path: "/api/v1/users/2", status: 200},
		{name: "get unset user", doc: "api/user", method: "GET", path: "/api/v1/users/3", status: 200},
		{name: "get missing user", doc: "api/user", method: "GET", path: "/api/v1/users/404", status: 404},
		{name: "create user", doc: "api/user", method: "POST", path: "/api/v1/users", body: `{"name":"Bo","email":"bo@example.com"}`, status: 200},
		{name: "create user error", doc: "api/user", method: "POST", path: "/api/v1/users", body: `{"name":"taken"}`, status: 409},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, res, body := call(t, ts.URL, tc.method, tc.path, tc.body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			v := vs[tc.doc]
			var ok bool
			var errs []string
			if tc.badRequest {
				ok, errs = wrap(v.ValidateHttpResponse(req, res))
			} else {
				ok, errs = wrap(v.ValidateHttpRequestResponse(req, res))
			}
			if !ok {
				t.Errorf("%s %s -> %d %s", tc.method, tc.path, res.StatusCode, body)
				for _, e := range errs {
					t.Error(e)
				}
			}
		})
	}
}

// TestEventsMatchDocument checks the Server-Sent Events of WatchShelf: the
// reply against the route's text/event-stream response, the data of each
// event against the event schema the document names, and the data of the
// error event against the error schema.
func TestEventsMatchDocument(t *testing.T) {
	vs := documentValidators(t)
	ts := httptest.NewServer(newServer())
	defer ts.Close()

	doc := documentModel(t)
	op := doc.Paths.PathItems.GetOrZero("/v1/shelves/{shelf}:watch").Get
	mt := op.Responses.Codes.GetOrZero("200").Content.GetOrZero("text/event-stream")
	ext := mt.Extensions.GetOrZero(openapigen.EventExtension)
	if ext == nil {
		t.Fatalf("the watch route names no event schema (%s)", openapigen.EventExtension)
	}
	var ref struct {
		Ref string `yaml:"$ref"`
	}
	if err := ext.Decode(&ref); err != nil {
		t.Fatal(err)
	}
	event := doc.Components.Schemas.GetOrZero(strings.TrimPrefix(ref.Ref, "#/components/schemas/"))
	if event == nil {
		t.Fatalf("event schema %q is not a component", ref.Ref)
	}
	errSchema := doc.Components.Schemas.GetOrZero(openapigen.ErrorSchema)

	for _, shelf := range []string{"5", "9"} {
		t.Run("shelf "+shelf, func(t *testing.T) {
			req, res, body := call(t, ts.URL, "GET", "/v1/shelves/"+shelf+":watch?filter.author=le+guin&genres=FICTION", "")
			if ok, errs := wrap(vs["bookstore"].ValidateHttpRequestResponse(req, res)); !ok {
				for _, e := range errs {
					t.Error(e)
				}
			}
			events := parseEvents(t, body)
			want := 2
			if shelf == "9" {
				want = 3
			}
			if len(events) != want {
				t.Fatalf("%d events, want %d: %q", len(events), want, body)
			}
			for i, e := range events {
				sch := event
				if e.kind == "error" {
					sch = errSchema
				}
				validateSchema(t, fmt.Sprintf("event %d (%s)", i, e.kind), sch.Schema(), e.data)
			}
			if shelf == "9" && events[2].kind != "error" {
				t.Errorf("last event is %q, want error", events[2].kind)
			}
		})
	}
}

type sseEvent struct{ kind, data string }

func parseEvents(t *testing.T, body string) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		}
	}
	if cur.data != "" {
		out = append(out, cur)
	}
	return out
}

func validateSchema(t *testing.T, what string, sch *base.Schema, data string) {
	t.Helper()
	sv := schema_validation.NewSchemaValidator(validationOptions...)
	if ok, errs := sv.ValidateSchemaStringWithVersion(sch, data, 3.1); !ok {
		t.Errorf("%s: %s", what, data)
		for _, e := range errs {
			t.Error(describeErr(e.Message, e.Reason, e.SchemaValidationErrors))
		}
	}
}

// call sends one request with net/http and returns it (with its body
// readable again, for the validator), the reply (likewise) and the body.
func call(t *testing.T, base, method, path, body string) (*nethttp.Request, *nethttp.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := nethttp.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	req.Body = io.NopCloser(strings.NewReader(body))
	return req, res, string(b)
}

// wrap turns validation errors into readable lines.
func wrap(ok bool, errs []*liberrors.ValidationError) (bool, []string) {
	var out []string
	for _, e := range errs {
		out = append(out, describeErr(e.Message, e.Reason, e.SchemaValidationErrors))
	}
	return ok, out
}

func describeErr(msg, reason string, ses []*liberrors.SchemaValidationFailure) string {
	s := msg + ": " + reason
	for _, se := range ses {
		s += fmt.Sprintf("\n  %s at %s", se.Reason, se.FieldPath)
	}
	return s
}

// documentModel returns the model of the bookstore's generated document.
func documentModel(t *testing.T) *v3.Document {
	t.Helper()
	out, err := protoc.Generate(context.Background(), []string{filepath.Join(protocTestdata, "bookstore")},
		protoc.Options{ImportPaths: []string{protocTestdata}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Name != "bookstore/v1/bookstore.openapi.yaml" {
			continue
		}
		doc, err := libopenapi.NewDocument(o.Content)
		if err != nil {
			t.Fatal(err)
		}
		m, err := doc.BuildV3Model()
		if err != nil {
			t.Fatal(err)
		}
		return &m.Model
	}
	t.Fatal("no bookstore document")
	return nil
}

// TestValidatorRejectsBadReplies makes sure the validation above can fail:
// replies the document does not allow are caught, so a passing
// TestRepliesMatchDocument means something.
func TestValidatorRejectsBadReplies(t *testing.T) {
	vs := documentValidators(t)
	cases := []struct {
		name, path string
		status     int
		body       string
	}{
		{"timestamp as number", "/api/v1/users/1", 200, `{"user":{"id":"1","createdAt":5}}`},
		{"undeclared field", "/api/v1/users/1", 200, `{"user":{"id":"1","age":3}}`},
		{"error body not a zelos error", "/api/v1/users/1", 500, `{"error":"boom"}`},
		{"error body without reason", "/api/v1/users/1", 404, `{"code":404,"message":"no"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			res := &nethttp.Response{
				StatusCode: tc.status,
				Header:     nethttp.Header{"Content-Type": {"application/json"}},
				Body:       io.NopCloser(strings.NewReader(tc.body)),
				Request:    req,
			}
			if ok, _ := vs["api/user"].ValidateHttpResponse(req, res); ok {
				t.Errorf("%d %s validated", tc.status, tc.body)
			}
		})
	}
}
