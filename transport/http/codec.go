package http

import (
	stdjson "encoding/json"
	"io"
	nethttp "net/http"
	"strconv"
	"strings"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/recovery"

	// The transport relies on every built-in codec being registered.
	_ "github.com/zelos-go/zelos/encoding/form"
	_ "github.com/zelos-go/zelos/encoding/json"
	_ "github.com/zelos-go/zelos/encoding/proto"
	_ "github.com/zelos-go/zelos/encoding/xml"
	_ "github.com/zelos-go/zelos/encoding/yaml"
)

// Reasons of the errors the transport itself returns.
const (
	// ReasonNotFound: no route matches the path (404).
	ReasonNotFound = "NOT_FOUND"
	// ReasonMethodNotAllowed: routes match the path but not the method (405).
	ReasonMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// ReasonBadRequestBody: the body does not decode (400).
	ReasonBadRequestBody = "BAD_REQUEST_BODY"
	// ReasonInvalidQuery: the query string does not decode into the request (400).
	ReasonInvalidQuery = "INVALID_QUERY"
	// ReasonInvalidPath: a path variable does not decode into the request (400).
	ReasonInvalidPath = "INVALID_PATH"
	// ReasonMissingFile: a multipart form lacks an expected file (400).
	ReasonMissingFile = "MISSING_FILE"
	// ReasonUnsupportedMediaType: no codec for the request's Content-Type (415).
	ReasonUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	// ReasonBodyTooLarge: the body exceeds the server's MaxBodySize (413).
	ReasonBodyTooLarge = "BODY_TOO_LARGE"
	// ReasonNotAcceptable: the reply cannot be encoded as the Accept header asks (406).
	ReasonNotAcceptable = "NOT_ACCEPTABLE"
	// ReasonEncodeReply: the reply could not be encoded (500).
	ReasonEncodeReply = "ENCODE_REPLY"
	// ReasonResponseTooLarge: a client received a reply larger than its limit.
	ReasonResponseTooLarge = "RESPONSE_TOO_LARGE"
	// ReasonUnavailable: a client could not reach the server (503).
	ReasonUnavailable = "UNAVAILABLE"
	// ReasonPanic: a handler, middleware or filter panicked (500); the same
	// reason as the recovery middleware's.
	ReasonPanic = recovery.Reason
	// ReasonBodyTimeout: the body did not arrive within the server's
	// BodyTimeout (408).
	ReasonBodyTimeout = "BODY_TIMEOUT"
)

// EncodeResponseFunc writes a handler's reply v, with status 200 (a status
// set by Context.Result is applied by the server whatever the encoder
// writes).
type EncodeResponseFunc func(w nethttp.ResponseWriter, r *nethttp.Request, v any) error

// EncodeErrorFunc writes an error reply.
type EncodeErrorFunc func(w nethttp.ResponseWriter, r *nethttp.Request, err error)

// DecodeRequestFunc decodes the request body into v. The server has already
// bounded the body by its MaxBodySize.
type DecodeRequestFunc func(r *nethttp.Request, v any) error

// Media types of the built-in codecs.
const (
	contentTypeJSON  = "application/json"
	contentTypeProto = "application/x-protobuf"
	contentTypeXML   = "application/xml"
	contentTypeYAML  = "application/yaml"
	contentTypeForm  = "application/x-www-form-urlencoded"
	contentTypeMulti = "multipart/form-data"
	contentTypeText  = "text/plain; charset=utf-8"
	contentTypeSSE   = "text/event-stream"
)

// codecName maps a media type (without parameters) to a codec name: the
// built-in types and their aliases, the +json/+xml/+yaml suffixes, and
// application/NAME for any codec registered as NAME. "multipart" stands for
// multipart/form-data. It returns "" for unknown types.
func codecName(mt string) string {
	mt = strings.ToLower(mt)
	switch mt {
	case contentTypeJSON, "text/json":
		return "json"
	case contentTypeProto, "application/protobuf", "application/x-google-protobuf", "application/vnd.google.protobuf", "application/proto":
		return "proto"
	case contentTypeXML, "text/xml":
		return "xml"
	case contentTypeYAML, "application/x-yaml", "text/yaml", "text/x-yaml":
		return "yaml"
	case contentTypeForm:
		return "form"
	case contentTypeMulti:
		return "multipart"
	}
	if i := strings.LastIndexByte(mt, '+'); i >= 0 && strings.IndexByte(mt, '/') < i {
		switch mt[i+1:] {
		case "json", "xml", "yaml":
			return mt[i+1:]
		}
	}
	if name, ok := strings.CutPrefix(mt, "application/"); ok && name != "" && encoding.GetCodec(name) != nil {
		return name
	}
	return ""
}

// contentTypeOf returns the canonical media type a codec's output is sent
// with.
func contentTypeOf(name string) string {
	switch name {
	case "json":
		return contentTypeJSON
	case "proto":
		return contentTypeProto
	case "xml":
		return contentTypeXML
	case "yaml":
		return contentTypeYAML
	case "form":
		return contentTypeForm
	}
	return "application/" + name
}

// mediaType strips the parameters of a Content-Type value.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(ct)
}

func firstValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// Negotiate returns the codec and media type a reply should be encoded with
// for an Accept header: the acceptable type with the highest quality among
// the registered codecs, JSON for an empty header, a wildcard, or a header
// naming no known type.
func Negotiate(accept string) (encoding.Codec, string) {
	name, ct := negotiate(accept)
	if c := encoding.GetCodec(name); c != nil {
		return c, ct
	}
	return encoding.GetCodec("json"), contentTypeJSON
}

func negotiate(accept string) (name, contentType string) {
	if accept == "" || accept == "*/*" || strings.HasPrefix(accept, contentTypeJSON) && !strings.Contains(accept, ",") {
		return "json", contentTypeJSON
	}
	bestQ := -1.0
	name, contentType = "json", contentTypeJSON
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.TrimSpace(mt)
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q <= 0 || q <= bestQ {
			continue
		}
		var n, ct string
		switch mt {
		case "*/*", "application/*":
			n, ct = "json", contentTypeJSON
		default:
			n = codecName(mt)
			if n == "" || n == "form" || n == "multipart" {
				continue
			}
			ct = mt
		}
		bestQ, name, contentType = q, n, ct
	}
	return name, contentType
}

// DefaultResponseEncoder encodes v with the codec Negotiate picks for the
// request's Accept header and writes it with status 200 and the matching
// Content-Type. A nil v writes the status only. A reply the negotiated codec
// cannot encode (a plain struct asked for as protobuf) is a 406 error.
func DefaultResponseEncoder(w nethttp.ResponseWriter, r *nethttp.Request, v any) error {
	if v == nil {
		w.WriteHeader(nethttp.StatusOK)
		return nil
	}
	name, ct := negotiate(firstValue(r.Header["Accept"]))
	codec := encoding.GetCodec(name)
	if codec == nil {
		codec, ct = encoding.GetCodec("json"), contentTypeJSON
	}
	data, err := codec.Marshal(v)
	if err != nil {
		if name != "json" {
			return errors.New(nethttp.StatusNotAcceptable, ReasonNotAcceptable,
				"the reply cannot be encoded as "+ct).WithCause(err)
		}
		return errors.InternalServer(ReasonEncodeReply, "the reply cannot be encoded as "+ct).WithCause(err)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(nethttp.StatusOK)
	_, _ = w.Write(data)
	return nil
}

// DefaultErrorEncoder writes err, converted with errors.FromError, as a
// JSON body {code, reason, message, metadata} with the error's code as the
// status. Plain errors become 500 UNKNOWN without their text.
func DefaultErrorEncoder(w nethttp.ResponseWriter, r *nethttp.Request, err error) {
	se := errors.FromError(err)
	body, mErr := stdjson.Marshal(se)
	if mErr != nil {
		body = []byte(`{"code":500,"reason":"UNKNOWN","message":"internal server error"}`)
		se = errors.New(500, errors.UnknownReason, "")
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(statusOf(se.Code))
	_, _ = w.Write(body)
}

// statusOf bounds an error code to a valid HTTP status.
func statusOf(code int) int {
	if code < 100 || code > 599 {
		return nethttp.StatusInternalServerError
	}
	return code
}

// DefaultRequestDecoder decodes the body by its Content-Type: JSON (also
// when there is no Content-Type), protobuf, XML, YAML, any codec registered
// under application/NAME, URL-encoded forms and multipart forms (values via
// form.DecodeValues; files into fields of type *multipart.FileHeader,
// []*multipart.FileHeader or []byte named like the form field). An empty
// body leaves v unchanged. Errors are 400 BAD_REQUEST_BODY (with the
// decoder's message), 413 BODY_TOO_LARGE and 415 UNSUPPORTED_MEDIA_TYPE.
func DefaultRequestDecoder(r *nethttp.Request, v any) error {
	ct := firstValue(r.Header["Content-Type"])
	name := "json"
	if ct != "" {
		name = codecName(mediaType(ct))
	}
	switch name {
	case "":
		return errors.New(nethttp.StatusUnsupportedMediaType, ReasonUnsupportedMediaType,
			"unsupported Content-Type "+strconv.Quote(ct))
	case "multipart":
		return bindMultipart(r, v)
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	codec := encoding.GetCodec(name)
	if codec == nil {
		return errors.New(nethttp.StatusUnsupportedMediaType, ReasonUnsupportedMediaType,
			"unsupported Content-Type "+strconv.Quote(ct))
	}
	if err := codec.Unmarshal(data, v); err != nil {
		return errors.BadRequest(ReasonBadRequestBody, "invalid "+name+" body: "+err.Error())
	}
	return nil
}

// preallocMax bounds the buffer readBody allocates from the declared
// Content-Length before any byte arrived, so that a client announcing a big
// body and sending little costs the server little memory.
const preallocMax = 1 << 20

// readBody reads the whole body, which the server has bounded.
func readBody(r *nethttp.Request) ([]byte, error) {
	if r.Body == nil || r.Body == nethttp.NoBody {
		return nil, nil
	}
	var data []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= preallocMax {
		data = make([]byte, n)
		_, err = io.ReadFull(r.Body, data)
	} else {
		data, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return nil, bodyError(err, "reading the request body: ")
	}
	return data, nil
}

func tooLarge(limit int64) *errors.Error {
	return errors.New(nethttp.StatusRequestEntityTooLarge, ReasonBodyTooLarge,
		"request body larger than "+strconv.FormatInt(limit, 10)+" bytes")
}
