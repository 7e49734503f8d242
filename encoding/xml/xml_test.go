package xml_test

import (
	"strings"
	"testing"

	"github.com/zelos-go/zelos/encoding"
	"github.com/zelos-go/zelos/encoding/xml"
)

type item struct {
	ID   int    `xml:"id,attr"`
	Name string `xml:"name"`
}

func TestRoundTrip(t *testing.T) {
	c := encoding.GetCodec("xml")
	if c == nil || c.Name() != "xml" {
		t.Fatalf("GetCodec(xml) = %v", c)
	}
	b, err := c.Marshal(item{ID: 1, Name: "a<b"})
	if err != nil || string(b) != `<item id="1"><name>a&lt;b</name></item>` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var got item
	if err := c.Unmarshal(b, &got); err != nil || got != (item{1, "a<b"}) {
		t.Errorf("Unmarshal = %+v, %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	c := xml.Codec{}
	if _, err := c.Marshal(make(chan int)); err == nil || !strings.HasPrefix(err.Error(), "xml: marshal chan int: ") {
		t.Errorf("Marshal(chan) error = %v", err)
	}
	var it item
	if err := c.Unmarshal([]byte("<item><name>"), &it); err == nil || !strings.HasPrefix(err.Error(), "xml: unmarshal into *xml_test.item: ") {
		t.Errorf("Unmarshal error = %v", err)
	}
}
