package msgpack_test

import (
	"fmt"

	_ "github.com/zelos-go/zelos/contrib/encoding/msgpack"
	"github.com/zelos-go/zelos/encoding"
)

func Example() {
	c := encoding.GetCodec("msgpack")
	b, _ := c.Marshal(map[string]int{"stock": 10})
	var out map[string]int
	_ = c.Unmarshal(b, &out)
	fmt.Printf("%d bytes, stock=%d\n", len(b), out["stock"])
	// Output: 8 bytes, stock=10
}
