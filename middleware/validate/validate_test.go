package validate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/validate"
)

type user struct{ name string }

var errNoName = fmt.Errorf("invalid user.name: value length must be at least 1 runes")

func (u *user) Validate() error {
	if u.name == "" {
		return errNoName
	}
	return nil
}

func echo(_ context.Context, req any) (any, error) { return req, nil }

func TestValidator(t *testing.T) {
	h := validate.Validator()(echo)
	ctx := context.Background()

	_, err := h(ctx, &user{})
	var e *errors.Error
	if !errors.As(err, &e) || e.Code != 400 || e.Reason != validate.Reason || e.Message != errNoName.Error() {
		t.Errorf("error = %v, want 400 %s with the validation message", err, validate.Reason)
	}
	if !errors.Is(err, errNoName) {
		t.Errorf("error %v does not wrap the validation error", err)
	}

	valid := &user{name: "bob"}
	if reply, err := h(ctx, valid); reply != valid || err != nil {
		t.Errorf("valid request: %v, %v", reply, err)
	}
	if reply, err := h(ctx, "no Validate method"); reply != "no Validate method" || err != nil {
		t.Errorf("request without Validate: %v, %v", reply, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = h(ctx, valid) }); n != 0 {
		t.Errorf("a valid request allocates %v times, want 0", n)
	}
}
