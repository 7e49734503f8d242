package transcode_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/zelos-go/zelos/gateway/internal/testapi"
	testapiv1 "github.com/zelos-go/zelos/gateway/internal/testapi/v1"
	"github.com/zelos-go/zelos/gateway/transcode"
	zgrpc "github.com/zelos-go/zelos/transport/grpc"
)

// TestStream serves a server-streaming method as Server-Sent Events, event
// for event as the service's own HTTP server does.
func TestStream(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, path string
		status     int
		want       []string // substrings of the body, in order
	}{
		{"events", "/v1/shelves/5:watch?count=3", 200, []string{
			`data:{"seq":1,"kind":"added"}`, `data:{"seq":2,"kind":"added"}`, `data:{"seq":3,"kind":"added"}`}},
		{"empty", "/v1/shelves/5:watch?count=0", 200, nil},
		{"error after the first event", "/v1/shelves/5:watch?count=-1", 200, []string{
			`data:{"seq":1,"kind":"first"}`, "event:error\n", `"reason":"BOOK_NOT_FOUND"`}},
		{"error before", "/v1/shelves/0:watch", 400, []string{`"reason":"SHELF_REQUIRED"`}},
		{"bad query", "/v1/shelves/5:watch?count=x", 400, []string{`"reason":"INVALID_QUERY"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := get(t, e.gw, tc.path)
			want := get(t, e.zelos, tc.path)
			if got.status != tc.status || want.status != tc.status {
				t.Fatalf("status %d (service %d), want %d: %s", got.status, want.status, tc.status, got.body)
			}
			if tc.status == 200 {
				if ct := got.header.Get("Content-Type"); ct != "text/event-stream" {
					t.Errorf("Content-Type %q", ct)
				}
				if got.header.Get("X-Md-Shelf") != "5" {
					t.Errorf("reply metadata x-md-shelf not in the header %v", got.header)
				}
				if string(got.body) != string(want.body) {
					t.Errorf("stream differs\n gateway: %q\n service: %q", got.body, want.body)
				}
			}
			// protojson varies its spacing on purpose: compare without it.
			body := strings.ReplaceAll(string(got.body), " ", "")
			for _, w := range tc.want {
				i := strings.Index(body, w)
				if i < 0 {
					t.Fatalf("body %q lacks %q", got.body, w)
				}
				body = body[i+len(w):]
			}
		})
	}
	t.Run("client goes away", func(t *testing.T) {
		// A stream that does not end: the backend call must end with the
		// client, which goleak checks at the end.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", e.gw+"/v1/shelves/5:watch?count=100000", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, `data: {`) || !strings.Contains(line, "1") {
			t.Fatalf("first line %q, %v", line, err)
		}
		cancel()
	})
	t.Run("wrong call", func(t *testing.T) {
		watch, _, _ := e.tc.Match("GET", "/v1/shelves/5:watch")
		shelf, _, _ := e.tc.Match("GET", "/v1/shelves/5")
		if !watch.ServerStreaming() || shelf.ServerStreaming() {
			t.Fatal("ServerStreaming is wrong")
		}
		if _, err := watch.Invoke(context.Background(), e.conn, nil); err == nil {
			t.Error("Invoke of a server stream succeeded")
		}
		if err := shelf.Stream(context.Background(), nil, nil, e.conn, nil); err == nil {
			t.Error("Stream of a unary method succeeded")
		}
	})
}

// TestMetadata checks which request headers reach the backend and which
// reply metadata comes back.
func TestMetadata(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		e := newEnv(t)
		r := do(t, e.gw, request{method: "POST", path: "/v1/echo", body: []byte(`{"text":"hi"}`), header: http.Header{
			"X-Md-Global-Uid": {"7"}, "X-Md-Local-Caller": {"web"}, "Authorization": {"Bearer t"}, "X-Other": {"no"},
		}})
		md := r.json(t)["metadata"].(map[string]any)
		if md["x-md-global-uid"] != "7" || md["x-md-local-caller"] != "web" || md["authorization"] != "Bearer t" {
			t.Errorf("metadata %v lacks a forwarded header", md)
		}
		if _, ok := md["x-other"]; ok {
			t.Errorf("metadata %v has a header not forwarded", md)
		}
		if r.header.Get("X-Md-Echo") != "hi" || r.header.Get("Other") != "" {
			t.Errorf("reply header %v", r.header)
		}
	})
	t.Run("ForwardHeaders", func(t *testing.T) {
		e := newEnv(t, transcode.ForwardHeaders("X-Other", "x-trace-*"))
		r := do(t, e.gw, request{method: "POST", path: "/v1/echo", body: []byte(`{}`), header: http.Header{
			"X-Trace-Id": {"abc"}, "Authorization": {"Bearer t"}, "X-Other": {"yes"},
		}})
		md := r.json(t)["metadata"].(map[string]any)
		if md["x-trace-id"] != "abc" || md["x-other"] != "yes" || md["authorization"] != nil {
			t.Errorf("metadata %v", md)
		}
	})
	t.Run("unsendable headers dropped", func(t *testing.T) {
		tc, err := transcode.New(apiFiles(t), transcode.ForwardHeaders("*"))
		if err != nil {
			t.Fatal(err)
		}
		md := tc.Metadata(http.Header{
			"X-Ok":         {"fine", "bad\x01", "caf\xc3\xa9"},
			"X-Bad!Key":    {"v"},
			"Grpc-Timeout": {"1S"},
			"X-Data-Bin":   {"\x00\x01"},
		})
		if len(md) != 2 || len(md["x-ok"]) != 1 || md["x-ok"][0] != "fine" || md["x-data-bin"][0] != "\x00\x01" {
			t.Fatalf("metadata %v", md)
		}
		ctx := tc.OutgoingContext(context.Background(), http.Header{"Te": {"x"}})
		ctx = tc.OutgoingContext(ctx, http.Header{"X-A": {"1"}})
		ctx = tc.OutgoingContext(ctx, http.Header{"X-B": {"2"}})
		out, _ := metadata.FromOutgoingContext(ctx)
		if len(out) != 2 || out.Get("x-a")[0] != "1" || out.Get("x-b")[0] != "2" {
			t.Fatalf("outgoing metadata %v", out)
		}
	})
}

// TestReflection loads the routes from servers speaking only one version
// of the reflection service, and fails on a server speaking none.
func TestReflection(t *testing.T) {
	t.Run("v1alpha only", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := ggrpc.NewServer()
		testapiv1.RegisterLibraryServer(srv, &testapi.Library{})
		v1alphagrpc.RegisterServerReflectionServer(srv, reflection.NewServer(reflection.ServerOptions{Services: srv}))
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(lis) }()
		t.Cleanup(func() { srv.Stop(); <-done })
		loadByReflection(t, dial(t, lis.Addr().String()))
	})
	t.Run("no reflection", func(t *testing.T) {
		conn := dial(t, testapi.StartGRPC(t, zgrpc.DisableReflection()))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := transcode.FromReflection(ctx, conn)
		if err == nil || !strings.HasPrefix(err.Error(), "transcode: reflection: ") {
			t.Fatalf("err = %v", err)
		}
	})
}

func loadByReflection(t *testing.T, conn ggrpc.ClientConnInterface) *transcode.Transcoder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	files, err := transcode.FromReflection(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	return newWithRoutes(t, files, wantRoutes)
}
