package transcode_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/gateway/internal/testapi"
	"github.com/zelos-go/zelos/gateway/transcode"
)

// BenchmarkDecode measures the per-request work before the call: Match and
// Decode of a GET with query parameters and of a POST with a JSON body.
func BenchmarkDecode(b *testing.B) {
	tc, err := transcode.New(apiFiles(b))
	if err != nil {
		b.Fatal(err)
	}
	const body = `{"book":{"title":"T","genre":"FICTION","tags":["x"],"pageCount":12},"requestId":"r1"}`
	cases := []struct{ name, method, target, body string }{
		{"GET query", "GET", "/v1/shelves/7/books?page_size=10&tags=a&tags=b&filter.author=bob&genre=SCIENCE", ""},
		{"GET nested path", "GET", "/v1/shelves/1/books/2", ""},
		{"POST body", "POST", "/v1/shelves/3/books", body},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(c.method, c.target, nil)
			b.ReportAllocs()
			for b.Loop() {
				if c.body != "" {
					r.Body = io.NopCloser(strings.NewReader(c.body))
				}
				bd, p, ok := tc.Match(r.Method, r.URL.EscapedPath())
				if !ok {
					b.Fatal("no match")
				}
				if _, err := bd.Decode(r, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandler measures a whole transcoded call over loopback: HTTP
// request in-process, gRPC call to a real backend, JSON reply.
func BenchmarkHandler(b *testing.B) {
	addr := testapi.StartGRPC(b)
	conn := dial(b, addr)
	tc, err := transcode.New(apiFiles(b))
	if err != nil {
		b.Fatal(err)
	}
	h := tc.Handler(conn)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/shelves/1/books/2", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}
