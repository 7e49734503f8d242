package proto_test

import (
	"strings"
	"testing"

	"github.com/zelos-go/zelos/encoding"
	zproto "github.com/zelos-go/zelos/encoding/proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/typepb"
)

func TestRoundTrip(t *testing.T) {
	c := encoding.GetCodec("proto")
	if c == nil || c.Name() != "proto" {
		t.Fatalf("GetCodec(proto) = %v", c)
	}
	in := &typepb.Field{Name: "id", Number: 7, Kind: typepb.Field_TYPE_STRING}
	b, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := &typepb.Field{JsonName: "reset first"}
	if err := c.Unmarshal(b, out); err != nil || !proto.Equal(in, out) {
		t.Errorf("Unmarshal = %v, %v", out, err)
	}
	var pf *typepb.Field
	if err := c.Unmarshal(b, &pf); err != nil || !proto.Equal(in, pf) {
		t.Errorf("Unmarshal(**Field) = %v, %v", pf, err)
	}
}

func TestErrors(t *testing.T) {
	c := zproto.Codec{}
	if _, err := c.Marshal(struct{}{}); err == nil || err.Error() != "proto: cannot marshal struct {}: not a proto.Message" {
		t.Errorf("Marshal(struct) error = %v", err)
	}
	var s string
	if err := c.Unmarshal(nil, &s); err == nil || err.Error() != "proto: cannot unmarshal into *string: not a proto.Message" {
		t.Errorf("Unmarshal(*string) error = %v", err)
	}
	if err := c.Unmarshal(nil, nil); err == nil || err.Error() != "proto: cannot unmarshal into <nil>: not a proto.Message" {
		t.Errorf("Unmarshal(nil) error = %v", err)
	}
	err := c.Unmarshal([]byte{0xff, 0xff}, &typepb.Field{})
	if err == nil || !strings.HasPrefix(err.Error(), "proto: invalid data for google.protobuf.Field: ") {
		t.Errorf("Unmarshal(garbage) error = %v", err)
	}
	// Invalid UTF-8 in a proto3 string cannot be marshaled.
	if _, err := c.Marshal(&typepb.Field{Name: "\xff"}); err == nil || !strings.HasPrefix(err.Error(), "proto: marshal *typepb.Field: ") {
		t.Errorf("Marshal(bad utf8) error = %v", err)
	}
}

func TestUnmarshalNilMessage(t *testing.T) {
	var m *typepb.Field // a nil message is an error, as in encoding/json, not a panic
	err := encoding.GetCodec("proto").Unmarshal([]byte("\x12\x02id"), m)
	if err == nil || !strings.Contains(err.Error(), "nil *typepb.Field") {
		t.Errorf("Unmarshal into nil *typepb.Field: %v", err)
	}
}
