package form_test

import (
	"fmt"
	"net/url"
	"time"

	"github.com/zelos-go/zelos/encoding/form"
	"google.golang.org/protobuf/types/descriptorpb"
)

func ExampleDecodeValues() {
	type ListRequest struct {
		PageSize int32         `json:"page_size"`
		Filter   string        `json:"filter"`
		Tags     []string      `json:"tags"`
		Timeout  time.Duration `form:"timeout"`
	}
	query, _ := url.ParseQuery("page_size=20&filter=active&tags=a&tags=b&timeout=1.5s&utm_source=mail")

	var req ListRequest
	if err := form.DecodeValues(&req, query); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", req)

	err := form.DecodeValues(&req, url.Values{"page_size": {"abc"}})
	fmt.Println(err)
	// Output:
	// {PageSize:20 Filter:active Tags:[a b] Timeout:1.5s}
	// form: field "page_size": invalid value "abc" for int32
}

func ExampleDecodeValues_proto() {
	// Proto fields match by proto name or JSON name; enums by name or number.
	var field descriptorpb.FieldDescriptorProto
	query, _ := url.ParseQuery("name=id&jsonName=id&number=1&type=TYPE_INT64&label=1&options.deprecated=true")
	if err := form.DecodeValues(&field, query); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(field.GetName(), field.GetNumber(), field.GetType(), field.GetLabel(), field.GetOptions().GetDeprecated())
	// Output: id 1 TYPE_INT64 LABEL_OPTIONAL true
}

func ExampleEncodeValues() {
	field := &descriptorpb.FieldDescriptorProto{
		Name:   new("id"),
		Number: new(int32(1)),
		Type:   descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(),
	}
	vals, err := form.EncodeValues(field)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vals.Encode())
	// Output: name=id&number=1&type=TYPE_INT64
}
