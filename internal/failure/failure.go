// Package failure classifies call errors for the resilience features that
// react to a failing backend: the circuit breaker (middleware/circuitbreaker,
// whose public name for it is IsBackendFailure) and the selector's outlier
// ejection. One classification keeps the two from disagreeing about what a
// failure is.
package failure

import "github.com/zelos-go/zelos/errors"

// IsBackend reports whether err means the backend failed: a 500, 502, 503
// or 504 error (which covers gRPC Internal, Unknown, Unavailable and
// DeadlineExceeded), or an error of no known kind, such as a refused
// connection, which errors.Code reports as 500. A caller's cancellation
// (499), 4xx and business errors are not backend failures.
func IsBackend(err error) bool {
	switch errors.Code(err) {
	case 500, 502, 503, 504:
		return true
	}
	return false
}
