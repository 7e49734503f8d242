package errors

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestNewAndAccessors(t *testing.T) {
	e := NotFound("USER_NOT_FOUND", "user 42 not found").WithMetadata(map[string]string{"id": "42"})
	if e.Code != 404 || e.Reason != "USER_NOT_FOUND" || e.Message != "user 42 not found" || e.Metadata["id"] != "42" {
		t.Fatalf("unexpected error %+v", e)
	}
	if Code(e) != 404 || Reason(e) != "USER_NOT_FOUND" || !IsNotFound(e) || IsBadRequest(e) {
		t.Fatal("accessors disagree with the error")
	}
	if Code(nil) != 200 || Reason(nil) != "" {
		t.Fatal("nil error must give 200 and no reason")
	}
	if got := Newf(400, "BAD", "field %q", "x").Message; got != `field "x"` {
		t.Fatalf("Newf message = %q", got)
	}
}

func TestHelpers(t *testing.T) {
	cases := []struct {
		e    *Error
		is   func(error) bool
		code int
	}{
		{BadRequest("R", "m"), IsBadRequest, 400},
		{Unauthorized("R", "m"), IsUnauthorized, 401},
		{Forbidden("R", "m"), IsForbidden, 403},
		{NotFound("R", "m"), IsNotFound, 404},
		{Conflict("R", "m"), IsConflict, 409},
		{TooManyRequests("R", "m"), IsTooManyRequests, 429},
		{ClientClosed("R", "m"), IsClientClosed, 499},
		{InternalServer("R", "m"), IsInternalServer, 500},
		{NotImplemented("R", "m"), IsNotImplemented, 501},
		{ServiceUnavailable("R", "m"), IsServiceUnavailable, 503},
		{GatewayTimeout("R", "m"), IsGatewayTimeout, 504},
	}
	for _, c := range cases {
		if c.e.Code != c.code || !c.is(c.e) || !c.is(fmt.Errorf("wrapped: %w", c.e)) {
			t.Errorf("helper for %d broken: %+v", c.code, c.e)
		}
		if c.is(io.EOF) && c.code != 500 {
			t.Errorf("Is%d matched a plain error", c.code)
		}
	}
}

func TestIsMatchesCodeAndReason(t *testing.T) {
	sentinel := NotFound("USER_NOT_FOUND", "")
	err := fmt.Errorf("lookup: %w", NotFound("USER_NOT_FOUND", "user 7 not found"))
	if !stderrors.Is(err, sentinel) || !Is(err, sentinel) {
		t.Fatal("errors.Is must match on code and reason")
	}
	if stderrors.Is(err, NotFound("OTHER", "")) || stderrors.Is(err, BadRequest("USER_NOT_FOUND", "")) {
		t.Fatal("errors.Is matched a different code or reason")
	}
}

func TestCauseAndClone(t *testing.T) {
	base := InternalServer("DB", "database failed")
	e := base.WithCause(io.ErrUnexpectedEOF)
	if base.Unwrap() != nil {
		t.Fatal("WithCause modified the receiver")
	}
	if !stderrors.Is(e, io.ErrUnexpectedEOF) || Cause(e) != io.ErrUnexpectedEOF {
		t.Fatal("cause not reachable")
	}
	md := map[string]string{"k": "v"}
	e2 := e.WithMetadata(md)
	md["k"] = "changed"
	if e2.Metadata["k"] != "v" {
		t.Fatal("WithMetadata must copy the map")
	}
	if !e2.Equal(e2.Clone()) || e2.Equal(e) {
		t.Fatal("Equal/Clone disagree")
	}
}

func TestFromError(t *testing.T) {
	if FromError(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	plain := stderrors.New("secret connection string leaked")
	e := FromError(plain)
	if e.Code != 500 || e.Reason != UnknownReason {
		t.Fatalf("plain error: %+v", e)
	}
	if e.Message == plain.Error() {
		t.Fatal("plain error text must not become the client-visible message")
	}
	if !stderrors.Is(e, plain) {
		t.Fatal("plain error must stay reachable as the cause")
	}
	if got := FromError(context.Canceled); got.Code != 499 {
		t.Fatalf("canceled -> %d", got.Code)
	}
	if got := FromError(fmt.Errorf("x: %w", context.DeadlineExceeded)); got.Code != 504 {
		t.Fatalf("deadline -> %d", got.Code)
	}
	st := status.New(codes.PermissionDenied, "nope")
	if got := FromError(st.Err()); got.Code != 403 || got.Message != "nope" || got.Reason != "PERMISSION_DENIED" {
		t.Fatalf("foreign grpc status -> %+v", got)
	}
	if got := FromError(status.Error(codes.DeadlineExceeded, "slow")); got.Reason != "DEADLINE_EXCEEDED" || got.Code != 504 {
		t.Fatalf("foreign deadline -> %+v", got)
	}
	if got := FromError(status.Error(codes.Unknown, "?")); got.Reason != UnknownReason {
		t.Fatalf("foreign unknown -> %+v", got)
	}
}

func TestGRPCRoundTrip(t *testing.T) {
	cases := []*Error{
		NotFound("USER_NOT_FOUND", "user 1 not found").WithMetadata(map[string]string{"id": "1", "zone": "a"}),
		BadRequest("VALIDATOR", "name: required"),
		New(422, "UNPROCESSABLE", "odd code"),
		New(418, "TEAPOT", "odd code").WithMetadata(map[string]string{"x": "y"}),
		TooManyRequests("RATE_LIMIT", ""),
		New(500, "", "no reason"),
	}
	for _, want := range cases {
		// Through the wire form: status proto bytes and back.
		st := want.GRPCStatus()
		wire := st.Proto()
		got := FromGRPCStatus(status.FromProto(wire))
		if !got.Equal(want) {
			t.Errorf("round trip of %+v gave %+v", want, got)
		}
		// And through a grpc-go error value.
		if got2 := FromError(st.Err()); !got2.Equal(want) {
			t.Errorf("FromError(status.Err()) of %+v gave %+v", want, got2)
		}
	}
}

func TestCodeMapping(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 429, 499, 500, 501, 503, 504} {
		if got := FromGRPCCode(ToGRPCCode(code)); got != code {
			t.Errorf("code %d maps to %v and back to %d", code, ToGRPCCode(code), got)
		}
	}
	if FromGRPCCode(codes.AlreadyExists) != 409 || FromGRPCCode(codes.FailedPrecondition) != 400 {
		t.Error("gRPC-only codes mapped wrong")
	}
	if FromGRPCStatus(status.New(codes.OK, "")) != nil {
		t.Error("OK status must give nil")
	}
}

func TestHTTPRoundTrip(t *testing.T) {
	want := Conflict("ORDER_EXISTS", "order 9 exists").WithMetadata(map[string]string{"order": "9"})
	body, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"code":409,"reason":"ORDER_EXISTS","message":"order 9 exists","metadata":{"order":"9"}}` {
		t.Fatalf("body = %s", body)
	}
	if got := FromHTTPResponse(409, body); !got.Equal(want) {
		t.Fatalf("got %+v", got)
	}
	if FromHTTPResponse(200, body) != nil {
		t.Fatal("2xx must give nil")
	}
	got := FromHTTPResponse(502, []byte("<html>bad gateway</html>"))
	if got.Code != 502 || got.Reason != UnknownReason || got.Message != "<html>bad gateway</html>" {
		t.Fatalf("non-JSON body: %+v", got)
	}
	if got := FromHTTPResponse(503, nil); got.Message != "Service Unavailable" {
		t.Fatalf("empty body: %+v", got)
	}
}

func FuzzFromHTTPResponse(f *testing.F) {
	f.Add(404, []byte(`{"code":404,"reason":"X","message":"m","metadata":{"a":"b"}}`))
	f.Add(500, []byte(`not json`))
	f.Add(400, []byte(`{"code":"x"}`))
	f.Add(502, []byte{0xff, 0xfe, 0x00})
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		e := FromHTTPResponse(code, body)
		if code >= 200 && code < 300 {
			if e != nil {
				t.Fatalf("2xx gave %v", e)
			}
			return
		}
		if e == nil {
			t.Fatalf("code %d gave nil", code)
		}
		// Whatever came in, the result must survive both transports.
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if e.Code > 0 {
			again := FromHTTPResponse(e.Code, b)
			if (again == nil) != (e.Code >= 200 && e.Code < 300) {
				t.Fatalf("re-decode of %s: %v", b, again)
			}
		}
		_ = FromError(e.GRPCStatus().Err())
	})
}

func ExampleNotFound() {
	err := NotFound("USER_NOT_FOUND", "user 42 not found").WithMetadata(map[string]string{"id": "42"})
	wrapped := fmt.Errorf("get user: %w", err)

	fmt.Println(Code(wrapped), Reason(wrapped))
	fmt.Println(Is(wrapped, NotFound("USER_NOT_FOUND", "")))
	// Output:
	// 404 USER_NOT_FOUND
	// true
}

func ExampleFromError() {
	e := FromError(io.EOF) // a plain error: its text is kept as the cause only
	fmt.Println(e.Code, e.Reason, e.Message)
	// Output: 500 UNKNOWN internal server error
}
