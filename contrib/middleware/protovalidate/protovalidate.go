// Package protovalidate validates requests against the protovalidate
// rules (buf.validate annotations) of their proto messages, with
// buf.build/go/protovalidate.
//
// It is its own module, so that the CEL runtime protovalidate needs is only
// built into programs that use it. Requests that fail validation get a 400
// error of reason VALIDATOR (validate.Reason), as with validate.Validator,
// whose message lists the violations and whose cause is protovalidate's
// *ValidationError. Requests that are not proto messages pass unchecked.
package protovalidate

import (
	"context"

	pv "buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/middleware/validate"
)

// Option configures Validator.
type Option func(*options)

type options struct {
	validator pv.Validator
}

// WithValidator sets the protovalidate Validator, for example one made by
// pv.New with options. The default is pv.GlobalValidator.
func WithValidator(v pv.Validator) Option {
	return func(o *options) { o.validator = v }
}

// Validator returns middleware validating proto requests with protovalidate.
func Validator(opts ...Option) middleware.Middleware {
	o := options{validator: pv.GlobalValidator}
	for _, opt := range opts {
		opt(&o)
	}
	return func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, req any) (any, error) {
			if m, ok := req.(proto.Message); ok {
				if err := o.validator.Validate(m); err != nil {
					return nil, errors.BadRequest(validate.Reason, err.Error()).WithCause(err)
				}
			}
			return next(ctx, req)
		}
	}
}
