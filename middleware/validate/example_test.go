package validate_test

import (
	"context"
	"fmt"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/validate"
)

func ExampleValidator() {
	h := validate.Validator()(func(_ context.Context, req any) (any, error) { return req, nil })
	_, err := h(context.Background(), &user{})
	fmt.Println(errors.Code(err), errors.Reason(err))
	// Output: 400 VALIDATOR
}
