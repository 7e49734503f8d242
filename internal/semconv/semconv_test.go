package semconv

import "testing"

func TestGRPCStatus(t *testing.T) {
	for code, want := range map[int]string{200: "OK", 400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 499: "CANCELLED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED", 500: "INTERNAL", 401: "UNAUTHENTICATED"} {
		if got := GRPCStatus(code); got != want {
			t.Errorf("GRPCStatus(%d) = %s, want %s", code, got, want)
		}
	}
}

func TestHTTPMethod(t *testing.T) {
	for m, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "_OTHER", "BREW": "_OTHER", "": "_OTHER"} {
		if got := HTTPMethod(m); got != want {
			t.Errorf("HTTPMethod(%q) = %s, want %s", m, got, want)
		}
	}
}
