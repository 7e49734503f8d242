package errors

// BadRequest returns a 400 error.
func BadRequest(reason, message string) *Error { return New(400, reason, message) }

// IsBadRequest reports whether err is a 400 error.
func IsBadRequest(err error) bool { return Code(err) == 400 }

// Unauthorized returns a 401 error.
func Unauthorized(reason, message string) *Error { return New(401, reason, message) }

// IsUnauthorized reports whether err is a 401 error.
func IsUnauthorized(err error) bool { return Code(err) == 401 }

// Forbidden returns a 403 error.
func Forbidden(reason, message string) *Error { return New(403, reason, message) }

// IsForbidden reports whether err is a 403 error.
func IsForbidden(err error) bool { return Code(err) == 403 }

// NotFound returns a 404 error.
func NotFound(reason, message string) *Error { return New(404, reason, message) }

// IsNotFound reports whether err is a 404 error.
func IsNotFound(err error) bool { return Code(err) == 404 }

// Conflict returns a 409 error.
func Conflict(reason, message string) *Error { return New(409, reason, message) }

// IsConflict reports whether err is a 409 error.
func IsConflict(err error) bool { return Code(err) == 409 }

// TooManyRequests returns a 429 error.
func TooManyRequests(reason, message string) *Error { return New(429, reason, message) }

// IsTooManyRequests reports whether err is a 429 error.
func IsTooManyRequests(err error) bool { return Code(err) == 429 }

// ClientClosed returns a 499 error: the client went away before the reply.
func ClientClosed(reason, message string) *Error { return New(499, reason, message) }

// IsClientClosed reports whether err is a 499 error.
func IsClientClosed(err error) bool { return Code(err) == 499 }

// InternalServer returns a 500 error.
func InternalServer(reason, message string) *Error { return New(500, reason, message) }

// IsInternalServer reports whether err is a 500 error.
func IsInternalServer(err error) bool { return Code(err) == 500 }

// NotImplemented returns a 501 error.
func NotImplemented(reason, message string) *Error { return New(501, reason, message) }

// IsNotImplemented reports whether err is a 501 error.
func IsNotImplemented(err error) bool { return Code(err) == 501 }

// ServiceUnavailable returns a 503 error.
func ServiceUnavailable(reason, message string) *Error { return New(503, reason, message) }

// IsServiceUnavailable reports whether err is a 503 error.
func IsServiceUnavailable(err error) bool { return Code(err) == 503 }

// GatewayTimeout returns a 504 error.
func GatewayTimeout(reason, message string) *Error { return New(504, reason, message) }

// IsGatewayTimeout reports whether err is a 504 error.
func IsGatewayTimeout(err error) bool { return Code(err) == 504 }
