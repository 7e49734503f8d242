package bbr_test

import (
	"fmt"

	"github.com/zelos-go/zelos/resilience/bbr"
)

func ExampleLimiter() {
	// A CPU source is injectable; here the machine reports itself idle, so
	// nothing is shed whatever the concurrency.
	l := bbr.New(bbr.WithCPU(bbr.CPUFunc(func() float64 { return 0.1 })))
	t, err := l.Allow()
	if err != nil {
		fmt.Println("shed")
		return
	}
	defer l.Done(t)
	fmt.Println("admitted, in flight:", l.InFlight())
	// Output: admitted, in flight: 1
}
