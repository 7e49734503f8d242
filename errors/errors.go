// Package errors is Zelos's structured error: an HTTP-like code, a
// machine-readable reason, a human message and metadata, carried
// identically over HTTP (as a JSON body) and gRPC (as a status with a
// google.rpc.ErrorInfo detail).
//
// Reasons are generated from proto enums by the zelos CLI, so a client can
// test errors with generated IsXxx functions rather than string matching.
package errors

import (
	stderrors "errors"
	"fmt"
	"maps"

	"google.golang.org/grpc/status"
)

// UnknownReason is the reason of errors converted from plain Go errors.
const UnknownReason = "UNKNOWN"

// UnknownCode is the code of errors converted from plain Go errors.
const UnknownCode = 500

// Error is a structured error. Its JSON form, {code, reason, message,
// metadata}, is the HTTP error body.
type Error struct {
	// Code is an HTTP status code, such as 404.
	Code int `json:"code"`
	// Reason is a stable, upper-snake-case identifier, such as
	// USER_NOT_FOUND.
	Reason string `json:"reason"`
	// Message is a human-readable explanation.
	Message string `json:"message"`
	// Metadata carries extra detail, such as the offending field.
	Metadata map[string]string `json:"metadata,omitempty"`

	cause error
}

// New returns an error with the given code, reason and message.
func New(code int, reason, message string) *Error {
	return &Error{Code: code, Reason: reason, Message: message}
}

// Newf is New with a formatted message.
func Newf(code int, reason, format string, args ...any) *Error {
	return New(code, reason, fmt.Sprintf(format, args...))
}

// Errorf is Newf returning an error interface value.
func Errorf(code int, reason, format string, args ...any) error {
	return New(code, reason, fmt.Sprintf(format, args...))
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := fmt.Sprintf("error: code = %d reason = %s message = %s", e.Code, e.Reason, e.Message)
	if len(e.Metadata) > 0 {
		s += fmt.Sprintf(" metadata = %v", e.Metadata)
	}
	if e.cause != nil {
		s += " cause = " + e.cause.Error()
	}
	return s
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code and reason, so
// errors.Is(err, ErrUserNotFound) works across transports.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && t.Reason == e.Reason
}

// WithCause returns a copy of e that wraps cause. The cause is kept for
// logs and errors.Is/As, and is never sent to clients.
func (e *Error) WithCause(cause error) *Error {
	c := e.Clone()
	c.cause = cause
	return c
}

// WithMetadata returns a copy of e with md as its metadata.
func (e *Error) WithMetadata(md map[string]string) *Error {
	c := e.Clone()
	c.Metadata = maps.Clone(md)
	return c
}

// Clone returns a deep copy of e. A nil e gives nil.
func (e *Error) Clone() *Error {
	if e == nil {
		return nil
	}
	return &Error{
		Code:     e.Code,
		Reason:   e.Reason,
		Message:  e.Message,
		Metadata: maps.Clone(e.Metadata),
		cause:    e.cause,
	}
}

// Equal reports whether e and o have the same code, reason, message and
// metadata. The cause is not compared.
func (e *Error) Equal(o *Error) bool {
	if e == nil || o == nil {
		return e == o
	}
	return e.Code == o.Code && e.Reason == o.Reason && e.Message == o.Message &&
		maps.Equal(e.Metadata, o.Metadata)
}

// Code returns the code of err: 200 for nil, the code of an *Error (or a
// gRPC status) found in err's chain, and 500 otherwise.
func Code(err error) int {
	if err == nil {
		return 200
	}
	return FromError(err).Code
}

// Reason returns the reason of err, or UNKNOWN when err carries none.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	return FromError(err).Reason
}

// FromError converts any error into an *Error:
//   - nil gives nil;
//   - an *Error anywhere in err's chain is returned as is;
//   - a gRPC status (an error with a GRPCStatus method) is decoded, reason and
//     metadata included;
//   - context.Canceled gives 499 and context.DeadlineExceeded gives 504;
//   - any other error gives 500 UNKNOWN with a generic message, wrapping err
//     as its cause, so its text does not leak to clients.
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	var se *Error
	if stderrors.As(err, &se) {
		return se
	}
	if gs, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return fromStatus(gs.GRPCStatus()).WithCause(err)
	}
	if e := fromContextError(err); e != nil {
		return e
	}
	return &Error{Code: UnknownCode, Reason: UnknownReason, Message: "internal server error", cause: err}
}

// Cause returns the error e wraps, if any.
func Cause(err error) error {
	var se *Error
	if stderrors.As(err, &se) {
		return se.cause
	}
	return nil
}

// Is calls the standard library's errors.Is, so code importing this package
// as "errors" keeps it.
func Is(err, target error) bool { return stderrors.Is(err, target) }

// As calls the standard library's errors.As.
func As(err error, target any) bool { return stderrors.As(err, target) }

// Unwrap calls the standard library's errors.Unwrap.
func Unwrap(err error) error { return stderrors.Unwrap(err) }

// Join calls the standard library's errors.Join.
func Join(errs ...error) error { return stderrors.Join(errs...) }
