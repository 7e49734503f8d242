package breaker_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/zelos-go/zelos/resilience/breaker"
)

func ExampleNewRatio() {
	// Opens when 60% of at least 20 calls in the last minute failed, stays
	// open 5 s, then lets 10 probes through.
	b := breaker.NewRatio(0.6,
		breaker.WithWindow(60*time.Second),
		breaker.WithTimeout(5*time.Second),
		breaker.WithMaxRequests(10))
	backend := func() error { return errors.New("connection refused") }
	for range 25 {
		t, err := b.Allow()
		if err != nil {
			fmt.Println("rejected:", err)
			break
		}
		if backend() != nil {
			b.Failure(t)
		} else {
			b.Success(t)
		}
	}
	fmt.Println(b.State())
	// Output:
	// rejected: resilience/breaker: circuit open
	// open
}
