package transcode

import (
	"context"
	"net/http"
	"strings"

	"google.golang.org/grpc/metadata"
)

// OutgoingContext returns ctx with the request headers the Transcoder
// forwards (see ForwardHeaders) added to its outgoing gRPC metadata.
func (t *Transcoder) OutgoingContext(ctx context.Context, h http.Header) context.Context {
	md := t.Metadata(h)
	if len(md) == 0 {
		return ctx
	}
	if out, ok := metadata.FromOutgoingContext(ctx); ok {
		md = metadata.Join(out, md)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// Metadata returns the headers of h the Transcoder forwards (see
// ForwardHeaders) as gRPC metadata, keys lower-case. Headers gRPC would
// refuse to send (a key or value with characters metadata cannot carry)
// are left out, so that a client's odd header cannot fail the call.
func (t *Transcoder) Metadata(h http.Header) metadata.MD {
	var md metadata.MD
	for k, vs := range h {
		lk := strings.ToLower(k)
		if !t.forward.match(lk) || !validKey(lk) {
			continue
		}
		for _, v := range vs {
			if !strings.HasSuffix(lk, "-bin") && !validValue(v) {
				continue
			}
			if md == nil {
				md = metadata.MD{}
			}
			md[lk] = append(md[lk], v)
		}
	}
	return md
}

// CopyReplyMetadata adds to dst the reply metadata whose key starts with
// "x-md-", the Zelos metadata a backend sends back.
func CopyReplyMetadata(dst http.Header, md metadata.MD) {
	for k, vs := range md {
		if !strings.HasPrefix(k, "x-md-") {
			continue
		}
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// headerRules is a list of lower-case header names and prefixes.
type headerRules struct {
	names    []string
	prefixes []string
}

func newHeaderRules(list []string) headerRules {
	var r headerRules
	for _, n := range list {
		n = strings.ToLower(strings.TrimSpace(n))
		if p, ok := strings.CutSuffix(n, "*"); ok {
			r.prefixes = append(r.prefixes, p)
		} else if n != "" {
			r.names = append(r.names, n)
		}
	}
	return r
}

func (r headerRules) match(k string) bool {
	for _, n := range r.names {
		if k == n {
			return true
		}
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// validKey reports whether k can be a gRPC metadata key: 0-9 a-z - _ .,
// neither a "grpc-" key nor a header of the HTTP/2 request itself (which
// gRPC sets, or which only concern one hop).
func validKey(k string) bool {
	if k == "" || strings.HasPrefix(k, "grpc-") {
		return false
	}
	switch k {
	case "content-type", "content-length", "te", "host", "connection", "keep-alive",
		"proxy-connection", "transfer-encoding", "upgrade", "user-agent":
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validValue reports whether v can be a text metadata value: printable
// ASCII.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}
