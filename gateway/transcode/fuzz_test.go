package transcode_test

import (
	"bytes"
	stderrors "errors"
	"net/http"
	"net/url"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/gateway/transcode"
)

// FuzzDecode feeds arbitrary paths, query strings, Content-Types and bodies
// to the test API's routes. Decode must never panic, must fail only with a
// client error (400, 413, 415) as a Zelos error, and a message it accepts
// must encode as JSON, so that no request can make the gateway answer 500
// for the client's own mistake.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s ./transcode
func FuzzDecode(f *testing.F) {
	tc, err := transcode.New(apiFiles(f), transcode.MaxBodySize(1<<16))
	if err != nil {
		f.Fatal(err)
	}
	seeds := []struct {
		method      uint8
		path, query string
		ct          string
		body        string
	}{
		{0, "/v1/shelves/42", "", "", ""},
		{0, "/v1/shelves/1/books/a%2Fb", "", "", ""},
		{0, "/v1/shelves/1/books/%ff", "", "", ""},
		{0, "/v1/shelves/7/books", "page_size=10&tags=a&filter.author=bob&genre=SCIENCE&labels[env]=prod&token=AQID", "", ""},
		{0, "/v1/shelves/7/books", "%zz&ids=x", "", ""},
		{1, "/v1/shelves/3/books", "", "application/json", `{"book":{"title":"T","published":"2024-05-01T10:00:00Z"},"requestId":"r1"}`},
		{1, "/v1/shelves/3/books", "", "application/x-protobuf", "\x12\x03\x12\x01T"},
		{1, "/v1/shelves/1/books/2:archive", "", "application/x-www-form-urlencoded", "reason=old&book=9"},
		{2, "/v1/shelves/1/books/2", "update_mask=title,genre", "", `{"title":"New"}`},
		{3, "/v1/shelves/1/books/x-missing", "", "", ""},
		{1, "/v1/echo", "", "text/plain", "hi"},
		{0, "/v1/shelves/5:watch", "count=3", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.ct, []byte(s.body))
	}
	methods := []string{"GET", "POST", "PATCH", "DELETE", "HEAD", "PUT"}
	f.Fuzz(func(t *testing.T, mi uint8, path, query, ct string, body []byte) {
		method := methods[int(mi)%len(methods)]
		if path == "" || path[0] != '/' {
			path = "/" + path
		}
		b, p, ok := tc.Match(method, path)
		if !ok {
			return
		}
		r := &http.Request{
			Method:        method,
			URL:           &url.URL{Path: path, RawQuery: query},
			Header:        http.Header{},
			Body:          http.NoBody,
			ContentLength: int64(len(body)),
		}
		if len(body) > 0 {
			r.Body = nopCloser{bytes.NewReader(body)}
		}
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		msg, err := b.Decode(r, p)
		if err != nil {
			var se *errors.Error
			if !stderrors.As(err, &se) {
				t.Fatalf("%s %s?%s: a plain error %v", method, path, query, err)
			}
			switch se.Code {
			case 400, 413, 415:
			default:
				t.Fatalf("%s %s?%s: status %d %v", method, path, query, se.Code, err)
			}
			return
		}
		if _, err := protojson.Marshal(msg); err != nil {
			t.Fatalf("%s %s?%s: accepted a request that does not encode: %v", method, path, query, err)
		}
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
