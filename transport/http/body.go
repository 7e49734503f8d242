package http

import (
	stderrors "errors"
	"io"
	nethttp "net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/zelos-go/zelos/errors"
)

// DefaultBodyTimeout is the default BodyTimeout: 30 s, enough for a
// DefaultMaxBodySize body at about 140 KB/s.
const DefaultBodyTimeout = 30 * time.Second

// defaultRequestCodecs are the codecs request bodies may use unless
// RequestCodecs says otherwise. YAML is not among them: decoding it costs
// far more CPU per byte than the others, so one hostile body could hold a
// core for seconds.
var defaultRequestCodecs = []string{"json", "proto", "xml", "form", "multipart"}

// limitBodyTime bounds the time left to read r's body by d, with a read
// deadline on the connection (HTTP/1) or the stream (HTTP/2), so that a
// client trickling its body cannot hold a connection forever. Nothing
// happens where the writer cannot set deadlines (a ResponseRecorder).
func limitBodyTime(w nethttp.ResponseWriter, r *nethttp.Request, d time.Duration) {
	rc := nethttp.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, w: w}
}

// deadlineBody is a body read under a deadline. It lifts the deadline at
// the end of the body: net/http then reads the connection in the background
// to notice a client going away, and a deadline passing there would cancel
// the request's context, ending a long reply (a stream) for nothing.
type deadlineBody struct {
	io.ReadCloser
	rc      *nethttp.ResponseController
	w       nethttp.ResponseWriter
	lifted  bool
	expired bool
}

// bodyTimeout is what reading a body returns once its deadline passed.
func bodyTimeout() error {
	return errors.New(nethttp.StatusRequestTimeout, ReasonBodyTimeout, "the request body did not arrive in time")
}

// Read implements io.Reader.
func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		b.lift()
	case stderrors.Is(err, os.ErrDeadlineExceeded):
		if !b.expired {
			b.expired = true
			// Cut the connection after the reply: the rest of the body may
			// still arrive, at any pace, and would be read as the next
			// request.
			b.w.Header().Set("Connection", "close")
		}
		return n, bodyTimeout()
	}
	return n, err
}

// lift removes the deadline, once.
func (b *deadlineBody) lift() {
	if !b.lifted && !b.expired {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

// liftBodyDeadline removes the body deadline of r before a reply that
// outlives the body's reading (an event stream, a WebSocket). A body that
// was bound was read to its end, which lifted it already.
func liftBodyDeadline(r *nethttp.Request) {
	if b, ok := r.Body.(*deadlineBody); ok {
		b.lift()
	}
}

// acceptsBody reports whether the server decodes bodies of Content-Type ct.
// Types no codec is known for are left to the RequestDecoder.
func (s *Server) acceptsBody(ct string) bool {
	name := "json"
	if ct != "" {
		name = codecName(mediaType(ct))
	}
	return name == "" || slices.Contains(s.reqCodecs, name)
}

// unacceptedBody is the error for a body of a type the server does not
// accept.
func unacceptedBody(ct string) error {
	return errors.New(nethttp.StatusUnsupportedMediaType, ReasonUnsupportedMediaType,
		"unsupported Content-Type "+strconv.Quote(ct))
}

// bodyError converts an error met reading a body: the server's own errors
// (413, 408) as they are, others as 400 with prefix and the error's text.
func bodyError(err error, prefix string) error {
	var mbe *nethttp.MaxBytesError
	if stderrors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	var se *errors.Error
	if stderrors.As(err, &se) {
		return se
	}
	return errors.BadRequest(ReasonBadRequestBody, prefix+err.Error())
}
