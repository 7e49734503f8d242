package transcode

import (
	"bytes"
	stdjson "encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/form"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/pathtpl"
	zhttp "github.com/zelos-go/zelos/transport/http"

	// The proto codec decodes application/x-protobuf bodies.
	_ "github.com/zelos-go/zelos/encoding/proto"
)

// Decode builds the request message of a route matched by Match: the query
// string first (encoding/form rules, every field), then the body by the
// rule (JSON, or protobuf or a URL-encoded form by Content-Type), then the
// path variables, which win; this is the order of a Zelos HTTP server, so
// the result is the same. Errors are *errors.Error: 400 INVALID_QUERY,
// BAD_REQUEST_BODY or INVALID_PATH naming the field, 413 BODY_TOO_LARGE and
// 415 UNSUPPORTED_MEDIA_TYPE.
func (b *Binding) Decode(r *http.Request, p Params) (proto.Message, error) {
	if len(p) != len(b.vars) {
		return nil, fmt.Errorf("transcode: %s %s: %d path values for %d variables", b.verb, b.pattern, len(p), len(b.vars))
	}
	msg := dynamicpb.NewMessage(b.method.Input())
	if err := decodeQuery(r, msg); err != nil {
		return nil, err
	}
	if err := b.decodeBody(r, msg); err != nil {
		return nil, err
	}
	if err := b.decodePath(p, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func decodeQuery(r *http.Request, msg proto.Message) error {
	if r.URL == nil || r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errors.BadRequest(zhttp.ReasonInvalidQuery, "invalid query string: "+err.Error())
	}
	if err := form.DecodeValues(msg, q); err != nil {
		return errors.BadRequest(zhttp.ReasonInvalidQuery, "invalid query: "+err.Error())
	}
	return nil
}

func (b *Binding) decodeBody(r *http.Request, msg *dynamicpb.Message) error {
	if b.body == bodyNone {
		return nil
	}
	target := proto.Message(msg)
	if b.body == bodyField && isMessage(b.bodyField) {
		// As a Zelos server does, the body field is set even when the body
		// is empty.
		target = msg.Mutable(b.bodyField).Message().Interface()
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	name := codecName(ct)
	if name == "" || name != "json" && b.body == bodyField && !isMessage(b.bodyField) {
		// A scalar, list or map body field only has a JSON form.
		return errors.New(http.StatusUnsupportedMediaType, zhttp.ReasonUnsupportedMediaType,
			"unsupported Content-Type "+strconv.Quote(ct))
	}
	data, err := b.t.readBody(r)
	if err != nil || len(data) == 0 {
		return err
	}
	if b.body == bodyField && !isMessage(b.bodyField) {
		return b.decodeFieldJSON(data, msg)
	}
	var codec encoding.Codec = b.t.codec
	if name != "json" {
		codec = encoding.GetCodec(name)
	}
	if err := codec.Unmarshal(data, target); err != nil {
		return errors.BadRequest(zhttp.ReasonBadRequestBody, "invalid "+name+" body: "+err.Error())
	}
	return nil
}

// decodeFieldJSON sets a body field that is not a message (a scalar, a
// list, a map) from its JSON, decoded as the field of an object so that
// protojson's rules for the field's type apply.
func (b *Binding) decodeFieldJSON(data []byte, msg *dynamicpb.Message) error {
	// Valid checks that data is one JSON value, so that it cannot close the
	// wrapping object and set other fields.
	if !stdjson.Valid(data) {
		return errors.BadRequest(zhttp.ReasonBadRequestBody, "invalid json body: not one JSON value")
	}
	var buf bytes.Buffer
	buf.Grow(len(data) + len(b.bodyField.JSONName()) + 5)
	buf.WriteString(`{"`)
	buf.WriteString(b.bodyField.JSONName())
	buf.WriteString(`":`)
	buf.Write(data)
	buf.WriteByte('}')
	tmp := dynamicpb.NewMessage(msg.Descriptor())
	if err := b.t.codec.Unmarshal(buf.Bytes(), tmp); err != nil {
		return errors.BadRequest(zhttp.ReasonBadRequestBody, "invalid json body: "+err.Error())
	}
	if tmp.Has(b.bodyField) {
		msg.Set(b.bodyField, tmp.Get(b.bodyField))
	}
	return nil
}

// readBody reads r's body up to the Transcoder's bound.
func (t *Transcoder) readBody(r *http.Request) ([]byte, error) {
	body := io.Reader(r.Body)
	if t.maxBody > 0 {
		if r.ContentLength > t.maxBody {
			return nil, tooLarge(t.maxBody)
		}
		body = io.LimitReader(r.Body, t.maxBody+1)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError // a bound set by the caller
		var se *errors.Error        // a Zelos error, such as a body timeout
		switch {
		case stderrors.As(err, &mbe):
			return nil, tooLarge(mbe.Limit)
		case stderrors.As(err, &se):
			return nil, se
		}
		return nil, errors.BadRequest(zhttp.ReasonBadRequestBody, "reading the request body: "+err.Error())
	}
	if t.maxBody > 0 && int64(len(data)) > t.maxBody {
		return nil, tooLarge(t.maxBody)
	}
	return data, nil
}

func tooLarge(limit int64) *errors.Error {
	return errors.New(http.StatusRequestEntityTooLarge, zhttp.ReasonBodyTooLarge,
		"request body larger than "+strconv.FormatInt(limit, 10)+" bytes")
}

// codecName returns the codec of a request Content-Type: "json" for none
// and for JSON types, "proto" and "form" for theirs, "" for any other,
// which is refused (415). The names are those of the Zelos codecs.
func codecName(ct string) string {
	if ct == "" {
		return "json"
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch mt {
	case "application/json", "text/json":
		return "json"
	case "application/x-protobuf", "application/protobuf", "application/x-google-protobuf",
		"application/vnd.google.protobuf", "application/proto":
		return "proto"
	case "application/x-www-form-urlencoded":
		return "form"
	}
	if strings.HasSuffix(mt, "+json") && strings.IndexByte(mt, '/') > 0 {
		return "json"
	}
	return ""
}

func isMessage(fd protoreflect.FieldDescriptor) bool {
	return (fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind) && !fd.IsList() && !fd.IsMap()
}

// decodePath sets the path variables, unescaped ({id} fully, multi-segment
// ones keeping "%2F"), as a Zelos server does: scalars parsed directly,
// enums, bytes and strings that are not valid UTF-8 through encoding/form,
// which refuses what a proto field cannot hold.
func (b *Binding) decodePath(p Params, msg *dynamicpb.Message) error {
	var slow url.Values
	for i := range b.vars {
		v := &b.vars[i]
		s, ok := pathtpl.Unescape(p[i], v.multi)
		if !ok {
			s = p[i]
		}
		if v.typ == "" || v.typ == "string" && !utf8.ValidString(s) {
			if slow == nil {
				slow = make(url.Values, len(b.vars))
			}
			slow[v.name] = []string{s}
			continue
		}
		if err := v.set(msg, s); err != nil {
			return err
		}
	}
	if slow != nil {
		if err := form.DecodeValues(msg, slow); err != nil {
			return errors.BadRequest(zhttp.ReasonInvalidPath, "invalid path variable: "+err.Error())
		}
	}
	return nil
}

// set parses s for the variable's field and stores it, creating the
// messages on the way.
func (v *pathVar) set(msg protoreflect.Message, s string) error {
	m := msg
	for _, fd := range v.fields[:len(v.fields)-1] {
		m = m.Mutable(fd).Message()
	}
	leaf := v.fields[len(v.fields)-1]
	var val protoreflect.Value
	var err error
	switch v.typ {
	case "string":
		val = protoreflect.ValueOfString(s)
	case "bool":
		var x bool
		x, err = strconv.ParseBool(s)
		val = protoreflect.ValueOfBool(x)
	case "int32", "int64":
		var x int64
		x, err = strconv.ParseInt(s, 10, v.bits)
		val = protoreflect.ValueOfInt64(x)
		if v.bits == 32 {
			val = protoreflect.ValueOfInt32(int32(x))
		}
	case "uint32", "uint64":
		var x uint64
		x, err = strconv.ParseUint(s, 10, v.bits)
		val = protoreflect.ValueOfUint64(x)
		if v.bits == 32 {
			val = protoreflect.ValueOfUint32(uint32(x))
		}
	case "float32", "float64":
		var x float64
		x, err = strconv.ParseFloat(s, v.bits)
		val = protoreflect.ValueOfFloat64(x)
		if v.bits == 32 {
			val = protoreflect.ValueOfFloat32(float32(x))
		}
	}
	if err != nil {
		return v.invalid(s)
	}
	m.Set(leaf, val)
	return nil
}

// invalid is the error of a value that does not parse, worded as a Zelos
// server words it.
func (v *pathVar) invalid(s string) error {
	if len(s) > 64 {
		s = s[:64]
	}
	return errors.BadRequest(zhttp.ReasonInvalidPath,
		fmt.Sprintf("invalid path variable %q: invalid value %q for %s", v.name, s, v.typ)).
		WithMetadata(map[string]string{"field": v.name})
}
