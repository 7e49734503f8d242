// Package semconv holds what middleware/metrics and middleware/tracing
// share of the OpenTelemetry semantic conventions: attribute keys and the
// spelling of values.
package semconv

import (
	"google.golang.org/grpc/codes"

	"github.com/zelos-go/zelos/errors"
)

// codeNames are the gRPC codes as rpc.response.status_code spells them.
var codeNames = [...]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

// GRPCStatus returns the gRPC status name of a Zelos (HTTP-style) code, as
// rpc.response.status_code spells it: 404 is NOT_FOUND.
func GRPCStatus(code int) string {
	if c := errors.ToGRPCCode(code); int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "UNKNOWN"
}

// standardMethods are the HTTP methods the conventions name; any other is
// recorded as "_OTHER", so that a client cannot mint label values.
var standardMethods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "DELETE": "DELETE",
	"CONNECT": "CONNECT", "OPTIONS": "OPTIONS", "TRACE": "TRACE", "PATCH": "PATCH",
}

// HTTPMethod returns m if it is a standard method, else "_OTHER".
func HTTPMethod(m string) string {
	if s, ok := standardMethods[m]; ok {
		return s
	}
	return "_OTHER"
}

// ReasonKey is the attribute of the Zelos error reason.
const ReasonKey = "zelos.error.reason"
