package budget_test

import (
	"fmt"

	"github.com/zelos-go/zelos/resilience/budget"
)

func ExampleBudget() {
	b := budget.New(budget.WithRatio(0.2), budget.WithMinPerSecond(0))
	for range 10 {
		b.Request()
	}
	allowed := 0
	for range 10 {
		if b.Retry() {
			allowed++
		}
	}
	fmt.Println(allowed, "of 10 retries allowed")
	// Output: 2 of 10 retries allowed
}
