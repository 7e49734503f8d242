package bucket_test

import (
	"fmt"
	"time"

	"github.com/zelos-go/zelos/resilience/bucket"
)

func ExampleBucket() {
	b := bucket.New(3, time.Second) // 3 at once, then 3 per second
	for i := range 4 {
		fmt.Println(i, b.Allow())
	}
	// Output:
	// 0 true
	// 1 true
	// 2 true
	// 3 false
}

func ExampleKeyed() {
	k := bucket.NewKeyed(1, time.Minute) // one request per client per minute
	fmt.Println(k.Allow("10.0.0.1"), k.Allow("10.0.0.1"), k.Allow("10.0.0.2"))
	// Output: true false true
}
