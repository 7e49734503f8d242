package bbr

import (
	"testing"

	"go.uber.org/goleak"
)

// The meter refreshes in short-lived goroutines: none may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
