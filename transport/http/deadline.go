package http

import (
	nethttp "net/http"
	"time"

	"github.com/zelos-go/zelos/internal/deadline"
)

// TimeoutHeader is the request header the Client sends the time left before
// its context's deadline in, in grpc-timeout's format (at most 8 digits and
// a unit: H, M, S, m, u or n; "250m" is 250ms). The Server bounds the
// request's context with it, shortened by its own Timeout, never
// lengthened; a malformed value is ignored. gRPC sends grpc-timeout itself.
const TimeoutHeader = "X-Zelos-Timeout"

// requestDeadline returns the deadline the server gives r: the earliest of
// now plus its Timeout and now plus the caller's TimeoutHeader, unless
// r's context already ends earlier. It reports false when there is none.
func (s *Server) requestDeadline(r *nethttp.Request) (time.Time, bool) {
	var d time.Duration
	has := false // "0n" is a caller out of time, not no deadline
	if v := r.Header[TimeoutHeader]; len(v) > 0 {
		d, has = deadline.Parse(v[0])
	}
	if s.timeout > 0 && (!has || s.timeout < d) {
		d, has = s.timeout, true
	}
	if !has {
		return time.Time{}, false
	}
	dl := time.Now().Add(d)
	if cur, ok := r.Context().Deadline(); ok && !dl.Before(cur) {
		return time.Time{}, false
	}
	return dl, true
}

// setTimeoutHeader sends the time left before dl to the server.
func setTimeoutHeader(h nethttp.Header, dl time.Time) {
	h[TimeoutHeader] = []string{deadline.Format(time.Until(dl))}
}
