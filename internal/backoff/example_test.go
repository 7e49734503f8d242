package backoff_test

import (
	"fmt"
	"time"

	"github.com/zelos-go/zelos/internal/backoff"
)

// A retry policy as the retry middleware builds it: exponential from 100ms,
// at most 1s. Jitter is left out here so that the output is fixed.
func ExamplePolicy() {
	p := backoff.Policy{Kind: backoff.Exponential, Base: 100 * time.Millisecond, Max: time.Second}
	b := p.Start()
	for range 5 {
		fmt.Println(b.Next())
	}
	// Output:
	// 100ms
	// 200ms
	// 400ms
	// 800ms
	// 1s
}
