package http

import (
	"bytes"
	"context"
	"mime/multipart"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
)

// bigBody returns a body of nearly max bytes made of items from item(i),
// between prefix and suffix: many keys, the shape that makes a decoder
// with a per-key cost that grows with the key count quadratic.
func bigBody(max int, prefix, suffix string, item func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString(prefix)
	for i := 0; ; i++ {
		it := item(i)
		if b.Len()+len(it)+len(suffix) > max {
			break
		}
		b.WriteString(it)
	}
	b.WriteString(suffix)
	return b.Bytes()
}

type xmlItems struct {
	Items []string `xml:"i"`
}

// bodyCase is a body of one accepted media type.
type bodyCase struct {
	name, ct string
	body     []byte
}

// bigBodies returns one body of nearly max bytes per media type: JSON,
// protobuf, URL-encoded and multipart forms into a generated message (a
// map field), XML into a struct, YAML too if withYAML.
func bigBodies(max int, withYAML bool) []bodyCase {
	comma := func(i int) string {
		if i == 0 {
			return ""
		}
		return ","
	}
	pb := &errdetails.ErrorInfo{Metadata: map[string]string{}}
	for i, size := 0, 0; size < max-64; i++ {
		k := "k" + strconv.Itoa(i)
		pb.Metadata[k] = "v"
		size += len(k) + 1 + 6 // the key, the value, tags and lengths
	}
	pbData, _ := proto.Marshal(pb)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for i := 0; mp.Len() < max-1024; i++ {
		_ = mw.WriteField("k"+strconv.Itoa(i), "v")
	}
	_ = mw.Close()
	// Under the decoders' own limits on the field and part counts.
	long := strings.Repeat("v", 460)
	var mpLong bytes.Buffer
	mw2 := multipart.NewWriter(&mpLong)
	for i := 0; mpLong.Len() < max-8192; i++ {
		_ = mw2.WriteField("k"+strconv.Itoa(i), strings.Repeat("v", 4500))
	}
	_ = mw2.Close()
	cases := []bodyCase{
		{"json", "application/json", bigBody(max, `{"metadata":{`, `}}`, func(i int) string {
			return comma(i) + `"k` + strconv.Itoa(i) + `":"v"`
		})},
		{"proto", "application/x-protobuf", pbData},
		{"form", "application/x-www-form-urlencoded", bigBody(max, "reason=r", "", func(i int) string {
			return "&k" + strconv.Itoa(i) + "=v"
		})},
		{"form long fields", "application/x-www-form-urlencoded", bigBody(max, "reason=r", "", func(i int) string {
			return "&k" + strconv.Itoa(i) + "=" + long
		})},
		{"multipart", mw.FormDataContentType(), mp.Bytes()},
		{"multipart long parts", mw2.FormDataContentType(), mpLong.Bytes()},
		{"xml", "application/xml", bigBody(max, "<r>", "</r>", func(i int) string {
			return "<i>" + strconv.Itoa(i) + "</i>"
		})},
	}
	if withYAML {
		yamlItem := func(i int) string { return "  k" + strconv.Itoa(i) + ": v\n" }
		cases = append(cases,
			bodyCase{"yaml", "application/yaml", bigBody(max, "metadata:\n", "", yamlItem)},
			// Under encoding/yaml's own 1 MiB document limit, so decoded.
			bodyCase{"yaml under its limit", "application/yaml", bigBody(max/4-1024, "metadata:\n", "", yamlItem)})
	}
	return cases
}

// TestBigBodiesDecodeFast checks that a body of DefaultMaxBodySize of
// every accepted media type decodes or is rejected with a 4xx in under a
// second of CPU (the whole process's, the client's work included: 2 s, and
// ten times that under the race detector), that one byte more is a 413
// for each, and that YAML is refused by default. A decoder quadratic in
// the key count took minutes for such bodies.
func TestBigBodiesDecodeFast(t *testing.T) {
	addRoutes := func(srv *Server) {
		Unary(srv.Route("/"), "POST", "/pb", "/T/PB", func(context.Context, *errdetails.ErrorInfo) (*errdetails.ErrorInfo, error) {
			return &errdetails.ErrorInfo{Reason: "ok"}, nil
		})
		srv.Route("/").POST("/xml", func(ctx Context) error {
			var v xmlItems
			if err := ctx.Bind(&v); err != nil {
				return err
			}
			return ctx.String(200, strconv.Itoa(len(v.Items)))
		})
	}
	srv, base := startServer(t, RequestCodecs("json", "proto", "xml", "form", "multipart", "yaml"))
	addRoutes(srv)
	defaultSrv, defaultBase := startServer(t)
	addRoutes(defaultSrv)
	c := testClient(t)
	limit := 2 * time.Second
	if raceEnabled {
		limit *= 10
	}
	for _, tc := range bigBodies(DefaultMaxBodySize, true) {
		path := "/pb"
		if tc.name == "xml" {
			path = "/xml"
		}
		t.Run(tc.name, func(t *testing.T) {
			body := string(tc.body)
			start, cpu0 := time.Now(), cpuTime()
			got := do(t, c, "POST", base+path, tc.ct, body)
			cpu, wall := cpuTime()-cpu0, time.Since(start)
			if got.status != 200 {
				// A decoder may refuse a body this big (too many form
				// fields or parts, a YAML document over its limit).
				if code, _, _, _ := errBody(t, got); got.status < 400 || got.status > 499 || code != got.status {
					t.Errorf("%d-byte body = %d %.200s", len(body), got.status, got.body)
				}
			}
			if cpu > limit {
				t.Errorf("%d-byte body took %v of CPU, want under %v", len(body), cpu, limit)
			}
			t.Logf("%d bytes: %d in %v of CPU, %v of wall time", len(body), got.status, cpu, wall)
		})
		t.Run(tc.name+" too large", func(t *testing.T) {
			got := do(t, c, "POST", base+path, tc.ct, string(tc.body)+string(bytes.Repeat([]byte(" "), DefaultMaxBodySize+1-len(tc.body))))
			if code, reason, _, _ := errBody(t, got); got.status != 413 || code != 413 || reason != ReasonBodyTooLarge {
				t.Errorf("reply = %d %.200s", got.status, got.body)
			}
		})
	}
	t.Run("yaml by default", func(t *testing.T) {
		got := do(t, c, "POST", defaultBase+"/pb", "application/yaml", "reason: r\n")
		if code, reason, _, _ := errBody(t, got); got.status != 415 || code != 415 || reason != ReasonUnsupportedMediaType {
			t.Errorf("reply = %d %s", got.status, got.body)
		}
	})
	t.Run("yaml opted in", func(t *testing.T) {
		got := do(t, c, "POST", base+"/pb", "application/yaml", "reason: r\n")
		if got.status != 200 {
			t.Errorf("reply = %d %s", got.status, got.body)
		}
	})
}
