package form_test

import (
	"net/url"
	"testing"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/form"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

func TestCodec(t *testing.T) {
	c := encoding.GetCodec("form")
	if c == nil || c.Name() != "form" {
		t.Fatalf("GetCodec(form) = %v", c)
	}

	in := &descriptorpb.FieldDescriptorProto{Name: proto.String("a b&c"), Number: proto.Int32(3)}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "name=a+b%26c&number=3"; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	out := new(descriptorpb.FieldDescriptorProto)
	if err := c.Unmarshal(b, out); err != nil || !proto.Equal(in, out) {
		t.Errorf("Unmarshal = %v, %v", out, err)
	}

	type S struct {
		Q string `form:"q"`
		N int    `form:"n"`
	}
	b, err = c.Marshal(S{Q: "x y", N: 1})
	if err != nil || string(b) != "n=1&q=x+y" {
		t.Errorf("Marshal(struct) = %s, %v", b, err)
	}
	var s S
	if err := c.Unmarshal([]byte("q=%E2%82%AC&n=2&other=1"), &s); err != nil || s != (S{Q: "€", N: 2}) {
		t.Errorf("Unmarshal(struct) = %+v, %v", s, err)
	}

	b, err = c.Marshal(url.Values{"b": {"2"}, "a": {"1"}})
	if err != nil || string(b) != "a=1&b=2" {
		t.Errorf("Marshal(url.Values) = %s, %v", b, err)
	}
	var vals url.Values
	if err := c.Unmarshal([]byte("a=1&a=2"), &vals); err != nil || len(vals["a"]) != 2 {
		t.Errorf("Unmarshal(*url.Values) = %v, %v", vals, err)
	}
}

func TestCodecErrors(t *testing.T) {
	c := form.Codec{}
	var s struct{ N int }
	if err := c.Unmarshal([]byte("N=%zz"), &s); err == nil || err.Error() != `form: invalid form data: invalid URL escape "%zz"` {
		t.Errorf("bad escape: got %v", err)
	}
	if err := c.Unmarshal([]byte("N=x"), &s); err == nil || err.Error() != `form: field "N": invalid value "x" for int` {
		t.Errorf("bad value: got %v", err)
	}
	if _, err := c.Marshal(make(chan int)); err == nil {
		t.Error("Marshal(chan): want an error")
	}
}
