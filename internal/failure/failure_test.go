package failure_test

import (
	"context"
	"io"
	"net"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/internal/failure"
)

func TestIsBackend(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"500", errors.InternalServer("X", "x"), true},
		{"502", errors.New(502, "BAD_GATEWAY", "x"), true},
		{"503", errors.ServiceUnavailable("X", "x"), true},
		{"504", errors.GatewayTimeout("X", "x"), true},
		{"deadline", context.DeadlineExceeded, true},
		{"connection error", &net.OpError{Op: "dial", Err: io.EOF}, true},
		{"grpc unavailable", status.Error(codes.Unavailable, "down"), true},
		{"canceled by caller", context.Canceled, false},
		{"404 business", errors.NotFound("USER_NOT_FOUND", "x"), false},
		{"429", errors.TooManyRequests("RATELIMIT", "x"), false},
		{"501", errors.NotImplemented("X", "x"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := failure.IsBackend(tc.err); got != tc.want {
				t.Fatalf("IsBackend(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
