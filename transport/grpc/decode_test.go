package grpc

import (
	"testing"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/zelos-go/zelos/errors"
)

func TestServerCodec(t *testing.T) {
	c := newServerCodec()
	if c.Name() != "proto" {
		t.Errorf("Name = %q, want proto", c.Name())
	}
	t.Run("valid", func(t *testing.T) {
		in := &testpb.SimpleRequest{ResponseSize: 3}
		data, err := c.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out testpb.SimpleRequest
		if err := c.Unmarshal(data, &out); err != nil || !proto.Equal(&out, in) {
			t.Fatalf("Unmarshal = %v, %v; want %v", &out, err, in)
		}
		if err := decodeFailure(&out); err != nil {
			t.Errorf("decodeFailure of a valid message = %v", err)
		}
	})
	t.Run("malformed proto message", func(t *testing.T) {
		out := &testpb.SimpleRequest{ResponseSize: 9}
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer{0x0a, 0x10, 0x01}}, out); err != nil {
			t.Fatalf("Unmarshal = %v, want nil and a mark", err)
		}
		if out.GetResponseSize() != 0 {
			t.Errorf("the marked message keeps decoded fields: %v", out)
		}
		err := decodeFailure(out)
		if !errors.IsBadRequest(err) || errors.Reason(err) != ReasonInvalidMessage {
			t.Errorf("decodeFailure = %v, want 400 %s", err, ReasonInvalidMessage)
		}
	})
	t.Run("malformed non-proto value", func(t *testing.T) {
		var out struct{}
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer{0x0a, 0x10}}, &out); err == nil {
			t.Error("Unmarshal into a non-message succeeded")
		}
		if err := decodeFailure(&out); err != nil {
			t.Errorf("decodeFailure of a non-message = %v", err)
		}
	})
}

func TestDecodeFailureIgnoresOtherUnknownFields(t *testing.T) {
	tests := []struct {
		name    string
		unknown []byte
	}{
		{"other field", protowire.AppendVarint(protowire.AppendTag(nil, 1000, protowire.VarintType), 1)},
		{"our number, other type", protowire.AppendVarint(protowire.AppendTag(nil, failureField, protowire.VarintType), 1)},
		{"truncated", protowire.AppendTag(nil, failureField, protowire.BytesType)},
		{"bad tag", []byte{0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &testpb.SimpleRequest{}
			m.ProtoReflect().SetUnknown(tt.unknown)
			if err := decodeFailure(m); err != nil {
				t.Errorf("decodeFailure = %v, want nil", err)
			}
		})
	}
}

// BenchmarkDecodeFailure is the cost decodeFailure adds to every unary call
// and received stream message.
func BenchmarkDecodeFailure(b *testing.B) {
	var req any = &testpb.SimpleRequest{ResponseSize: 1}
	b.ReportAllocs()
	for b.Loop() {
		if decodeFailure(req) != nil {
			b.Fatal("marked")
		}
	}
}

// FuzzServerCodec checks that any bytes either decode as proto.Unmarshal
// decodes them, or leave a marked message that decodeFailure reports. Valid
// bytes that carry the mark themselves are rejected too; only a client
// that forges it is harmed.
func FuzzServerCodec(f *testing.F) {
	f.Add([]byte{0x10, 0x01})
	f.Add([]byte{0x0a, 0x10, 0x01})
	f.Add(protowire.AppendString(protowire.AppendTag(nil, failureField, protowire.BytesType), "forged"))
	c := newServerCodec()
	f.Fuzz(func(t *testing.T, data []byte) {
		var want testpb.SimpleRequest
		wantErr := proto.Unmarshal(data, &want)
		var got testpb.SimpleRequest
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, &got); err != nil {
			t.Fatalf("Unmarshal of a message = %v, want nil", err)
		}
		failure := decodeFailure(&got)
		switch {
		case wantErr != nil && failure == nil:
			t.Fatalf("bytes proto rejects (%v) are not marked", wantErr)
		case wantErr != nil:
			if !errors.IsBadRequest(failure) {
				t.Fatalf("decodeFailure = %v, want 400", failure)
			}
		case failure == nil && !proto.Equal(&got, &want):
			t.Fatalf("decoded %v, proto decodes %v", &got, &want)
		}
	})
}
