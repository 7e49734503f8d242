package v1

import "fmt"

// Redact is what the logging middleware logs for the request, should a
// server enable WithArgs: everything but the password.
func (x *CreateUserRequest) Redact() string {
	return fmt.Sprintf("name:%q email:%q password:<redacted>", x.GetName(), x.GetEmail())
}

// Redact is what the logging middleware logs for the request: the email
// without the password.
func (x *LoginRequest) Redact() string {
	return fmt.Sprintf("email:%q password:<redacted>", x.GetEmail())
}
