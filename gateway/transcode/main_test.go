package transcode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/zelos-go/zelos/gateway/internal/testapi"
	testapiv1 "github.com/zelos-go/zelos/gateway/internal/testapi/v1"
	"github.com/zelos-go/zelos/gateway/transcode"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a Library backend on gRPC, a gateway transcoding to it, and the
// same Library served by a Zelos HTTP server from its generated code.
type env struct {
	conn  *grpc.ClientConn
	tc    *transcode.Transcoder
	gw    string // the gateway's base URL
	zelos string // the Zelos HTTP server's base URL
}

func newEnv(t *testing.T, opts ...transcode.Option) *env {
	t.Helper()
	addr := testapi.StartGRPC(t)
	conn := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	files, err := transcode.FromReflection(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := transcode.New(files, opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(tc.Handler(conn))
	t.Cleanup(hs.Close)
	return &env{conn: conn, tc: tc, gw: hs.URL, zelos: testapi.StartHTTP(t)}
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// reply is an HTTP reply, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// jsonBody decodes the body, failing the test if it is not JSON.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// errorBody checks that r is a Zelos error with the given status and
// reason, and returns its body.
func (r reply) errorBody(t *testing.T, status int, reason string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["code"] != float64(status) || m["reason"] != reason {
		t.Fatalf("error body %s, want code %d reason %s", r.body, status, reason)
	}
	return m
}

type request struct {
	method, path, ct string
	body             []byte
	header           http.Header
}

func do(t *testing.T, base string, rq request) reply {
	t.Helper()
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, rq.method, base+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	if rq.ct != "" {
		req.Header.Set("Content-Type", rq.ct)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: data}
}

func get(t *testing.T, base, path string) reply {
	t.Helper()
	return do(t, base, request{method: "GET", path: path})
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// apiFiles returns the test API's file and its imports, from the
// descriptors linked into the test.
func apiFiles(t testing.TB) *protoregistry.Files {
	t.Helper()
	files := new(protoregistry.Files)
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if _, err := files.FindFileByPath(fd.Path()); err == nil {
			return
		}
		imps := fd.Imports()
		for i := range imps.Len() {
			add(imps.Get(i).FileDescriptor)
		}
		if err := files.RegisterFile(fd); err != nil {
			t.Fatal(err)
		}
	}
	add(testapiv1.File_gateway_internal_testapi_v1_testapi_proto)
	return files
}

// fileSet returns the test API's file, and with imports its imports, as a
// FileDescriptorSet.
func fileSet(withImports bool) *descriptorpb.FileDescriptorSet {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		if withImports {
			imps := fd.Imports()
			for i := range imps.Len() {
				add(imps.Get(i).FileDescriptor)
			}
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(testapiv1.File_gateway_internal_testapi_v1_testapi_proto)
	return set
}

// routes lists a Transcoder's routes as "VERB pattern -> method".
func routes(tc *transcode.Transcoder) []string {
	var out []string
	for _, b := range tc.Bindings() {
		out = append(out, b.HTTPMethod()+" "+b.Pattern()+" -> "+b.FullMethod())
	}
	return out
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// serve runs one request through tc's Handler in-process.
func serve(tc *transcode.Transcoder, cc grpc.ClientConnInterface, rq request) reply {
	var body io.Reader = http.NoBody
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req := httptest.NewRequest(rq.method, rq.path, body)
	if rq.ct != "" {
		req.Header.Set("Content-Type", rq.ct)
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	tc.Handler(cc).ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// squash returns JSON text without its spaces, which protojson varies on
// purpose from build to build.
func squash(b []byte) string { return strings.ReplaceAll(string(b), " ", "") }

// newWithRoutes builds a Transcoder of files and checks its routes.
func newWithRoutes(t *testing.T, files *protoregistry.Files, want []string) *transcode.Transcoder {
	t.Helper()
	tc, err := transcode.New(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := routes(tc); !slices.Equal(got, want) {
		t.Fatalf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	return tc
}
