package encoding_test

import (
	"fmt"

	"github.com/zelos-go/zelos/encoding"
	_ "github.com/zelos-go/zelos/encoding/form"
	_ "github.com/zelos-go/zelos/encoding/json"
	_ "github.com/zelos-go/zelos/encoding/proto"
	_ "github.com/zelos-go/zelos/encoding/xml"
	_ "github.com/zelos-go/zelos/encoding/yaml"
)

func ExampleGetCodec() {
	// Importing a codec package registers it; look it up by content subtype.
	codec := encoding.GetCodec("json")
	b, err := codec.Marshal(map[string]int{"page": 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(codec.Name(), string(b))

	var v struct{ Page int }
	if err := codec.Unmarshal(b, &v); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Page)

	for _, name := range []string{"proto", "yaml", "xml", "form", "msgpack"} {
		fmt.Println(name, encoding.GetCodec(name) != nil)
	}
	// Output:
	// json {"page":2}
	// 2
	// proto true
	// yaml true
	// xml true
	// form true
	// msgpack false
}
