package http

import (
	"context"
	"encoding/json"
	"io"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/zelos-go/zelos/log"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var discard = log.NewStdLogger(io.Discard)

// startServer starts srv options on 127.0.0.1:0 and returns the server and
// its base URL; the server is stopped when the test ends.
func startServer(t testing.TB, opts ...ServerOption) (*Server, string) {
	t.Helper()
	srv := NewServer(append([]ServerOption{Address("127.0.0.1:0"), Logger(discard)}, opts...)...)
	u, err := srv.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return srv, u.String()
}

// testClient returns an HTTP client whose connections are closed when the
// test ends.
func testClient(t testing.TB) *nethttp.Client {
	tr := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &nethttp.Client{Transport: tr, Timeout: 30 * time.Second}
}

type reply struct {
	status int
	header nethttp.Header
	body   string
}

// do sends a request and reads the whole reply.
func do(t testing.TB, c *nethttp.Client, method, url, contentType, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := nethttp.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, string(data)}
}

// errBody decodes a JSON error body.
func errBody(t testing.TB, r reply) (code int, reason, message string, md map[string]string) {
	t.Helper()
	var e struct {
		Code     int               `json:"code"`
		Reason   string            `json:"reason"`
		Message  string            `json:"message"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q (status %d) is not JSON: %v", r.body, r.status, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	return e.Code, e.Reason, e.Message, e.Metadata
}
