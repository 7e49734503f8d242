package errors

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxMessageFromBody bounds how much of a non-JSON error body becomes the
// message of the decoded error.
const maxMessageFromBody = 512

// FromHTTPResponse decodes an HTTP error reply into an *Error. A body of the
// form {code, reason, message, metadata} is decoded as such; any other body
// (an HTML page from a proxy, say) gives an error with the status code, the
// reason UNKNOWN and the start of the body as the message. Codes below 300
// give nil.
func FromHTTPResponse(statusCode int, body []byte) *Error {
	if statusCode >= 200 && statusCode < 300 {
		return nil
	}
	var wire struct {
		Code     *int              `json:"code"`
		Reason   string            `json:"reason"`
		Message  string            `json:"message"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(body, &wire); err == nil && (wire.Code != nil || wire.Reason != "") {
		e := &Error{Code: statusCode, Reason: wire.Reason, Message: wire.Message}
		if wire.Code != nil && *wire.Code > 0 {
			e.Code = *wire.Code
		}
		if len(wire.Metadata) > 0 {
			e.Metadata = wire.Metadata
		}
		return e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > maxMessageFromBody {
		msg = msg[:maxMessageFromBody]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	if msg == "" {
		msg = http.StatusText(statusCode)
	}
	return &Error{Code: statusCode, Reason: UnknownReason, Message: msg}
}
