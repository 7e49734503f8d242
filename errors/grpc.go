package errors

import (
	"context"
	stderrors "errors"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// httpCodeKey is the ErrorInfo metadata key that carries the HTTP code when
// it is not the canonical one for the gRPC code, so that any code survives a
// round trip through gRPC. It is removed again on decoding.
const httpCodeKey = "zelos-http-code"

// ToGRPCCode maps an HTTP-like code to a gRPC code. This and FromGRPCCode
// are the one mapping table used by every transport.
func ToGRPCCode(code int) codes.Code {
	switch code {
	case 200:
		return codes.OK
	case 400:
		return codes.InvalidArgument
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.NotFound
	case 409:
		return codes.Aborted
	case 429:
		return codes.ResourceExhausted
	case 499:
		return codes.Canceled
	case 500:
		return codes.Internal
	case 501:
		return codes.Unimplemented
	case 503:
		return codes.Unavailable
	case 504:
		return codes.DeadlineExceeded
	}
	switch {
	case code >= 400 && code < 500:
		return codes.FailedPrecondition
	case code >= 200 && code < 300:
		return codes.OK
	}
	return codes.Unknown
}

// FromGRPCCode maps a gRPC code to an HTTP-like code.
func FromGRPCCode(code codes.Code) int {
	switch code {
	case codes.OK:
		return 200
	case codes.Canceled:
		return 499
	case codes.Unknown:
		return 500
	case codes.InvalidArgument:
		return 400
	case codes.DeadlineExceeded:
		return 504
	case codes.NotFound:
		return 404
	case codes.AlreadyExists:
		return 409
	case codes.PermissionDenied:
		return 403
	case codes.ResourceExhausted:
		return 429
	case codes.FailedPrecondition:
		return 400
	case codes.Aborted:
		return 409
	case codes.OutOfRange:
		return 400
	case codes.Unimplemented:
		return 501
	case codes.Internal:
		return 500
	case codes.Unavailable:
		return 503
	case codes.DataLoss:
		return 500
	case codes.Unauthenticated:
		return 401
	}
	return 500
}

// GRPCStatus returns e as a gRPC status: the code from the mapping table,
// the message, and a google.rpc.ErrorInfo detail with the reason and
// metadata. grpc-go calls it when a handler returns e.
func (e *Error) GRPCStatus() *status.Status {
	gc := ToGRPCCode(e.Code)
	s := status.New(gc, e.Message)
	md := e.Metadata
	if FromGRPCCode(gc) != e.Code {
		md = make(map[string]string, len(e.Metadata)+1)
		for k, v := range e.Metadata {
			md[k] = v
		}
		md[httpCodeKey] = strconv.Itoa(e.Code)
	}
	// The ErrorInfo is attached even with no reason, so that a status without
	// one is known to come from a foreign server (see fromStatus).
	ds, err := s.WithDetails(&errdetails.ErrorInfo{Reason: e.Reason, Metadata: md})
	if err != nil {
		return s
	}
	return ds
}

// FromGRPCStatus converts a gRPC status into an *Error, reading the reason
// and metadata from its ErrorInfo detail. A status without one, from a
// server that is not Zelos, gets its gRPC code's name as the reason, such as
// UNAVAILABLE. A nil or OK status gives nil.
func FromGRPCStatus(s *status.Status) *Error {
	if s == nil || s.Code() == codes.OK {
		return nil
	}
	return fromStatus(s)
}

func fromStatus(s *status.Status) *Error {
	e := &Error{Code: FromGRPCCode(s.Code()), Message: s.Message(), Reason: codeReason(s.Code())}
	for _, d := range s.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok {
			continue
		}
		e.Reason = info.Reason
		if len(info.Metadata) > 0 {
			e.Metadata = make(map[string]string, len(info.Metadata))
			for k, v := range info.Metadata {
				if k == httpCodeKey {
					if c, err := strconv.Atoi(v); err == nil {
						e.Code = c
					}
					continue
				}
				e.Metadata[k] = v
			}
			if len(e.Metadata) == 0 {
				e.Metadata = nil
			}
		}
		break
	}
	return e
}

// codeReason returns the upper-snake-case name of a gRPC code, such as
// DEADLINE_EXCEEDED, the reason of errors from servers that send none.
func codeReason(c codes.Code) string {
	name := c.String()
	b := make([]byte, 0, len(name)+4)
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch >= 'A' && ch <= 'Z' {
			if i > 0 {
				b = append(b, '_')
			}
			b = append(b, ch)
			continue
		}
		b = append(b, ch-'a'+'A')
	}
	return string(b)
}

func fromContextError(err error) *Error {
	switch {
	case stderrors.Is(err, context.Canceled):
		return &Error{Code: 499, Reason: "CLIENT_CLOSED", Message: "context canceled", cause: err}
	case stderrors.Is(err, context.DeadlineExceeded):
		return &Error{Code: 504, Reason: "DEADLINE_EXCEEDED", Message: "context deadline exceeded", cause: err}
	}
	return nil
}
