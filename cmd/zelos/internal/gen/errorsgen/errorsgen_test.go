package errorsgen

import (
	"testing"

	zerrors "github.com/zelos-go/zelos/errors"
)

// TestFieldNumbers checks the option numbers read from raw options against
// the generated code of zelos/errors/errors.proto.
func TestFieldNumbers(t *testing.T) {
	if got := int32(defaultCodeField); got != zerrors.E_DefaultCode.Field {
		t.Errorf("defaultCodeField = %d, errors.proto says %d", got, zerrors.E_DefaultCode.Field)
	}
	if got := int32(codeField); got != zerrors.E_Code.Field {
		t.Errorf("codeField = %d, errors.proto says %d", got, zerrors.E_Code.Field)
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"USER_NOT_FOUND": "UserNotFound",
		"user_exists":    "UserExists",
		"A":              "A",
		"__X__Y":         "XY",
		"_1_FOO":         "X1Foo",
	} {
		if got := Camel(in); got != want {
			t.Errorf("Camel(%q) = %q, want %q", in, got, want)
		}
	}
}
