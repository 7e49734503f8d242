package transcode

import (
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/zelos-go/zelos/errors"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// Handler returns an http.Handler serving every route on cc: Match, Decode,
// the forwarded headers (see ForwardHeaders) as outgoing metadata, Invoke
// and Encode, or Stream for server-streaming routes. Reply header metadata
// whose key starts with "x-md-" is copied to the HTTP reply. Errors are
// written by transport/http's DefaultErrorEncoder: a path no route matches
// is 404 NOT_FOUND, a method no route of the path has is 405
// METHOD_NOT_ALLOWED with an Allow header, as from a Zelos HTTP server.
func (t *Transcoder) Handler(cc grpc.ClientConnInterface) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := t.serve(w, r, cc); err != nil {
			zhttp.DefaultErrorEncoder(w, r, err)
		}
	})
}

func (t *Transcoder) serve(w http.ResponseWriter, r *http.Request, cc grpc.ClientConnInterface) error {
	path := r.URL.EscapedPath()
	b, p, ok := t.Match(r.Method, path)
	if !ok {
		if allowed := t.Allowed(path); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			return errors.New(http.StatusMethodNotAllowed, zhttp.ReasonMethodNotAllowed,
				"method "+r.Method+" not allowed for "+r.URL.Path)
		}
		return errors.NotFound(zhttp.ReasonNotFound, "no route for "+r.Method+" "+r.URL.Path)
	}
	req, err := b.Decode(r, p)
	if err != nil {
		return err
	}
	ctx := t.OutgoingContext(r.Context(), r.Header)
	if b.ServerStreaming() {
		return b.Stream(ctx, w, r, cc, req)
	}
	var header metadata.MD
	reply, err := b.Invoke(ctx, cc, req, grpc.Header(&header))
	CopyReplyMetadata(w.Header(), header)
	if err != nil {
		return err
	}
	return b.Encode(w, r, reply)
}
