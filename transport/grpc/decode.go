package grpc

import (
	"google.golang.org/grpc/encoding"
	ggrpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/zelos-go/zelos/errors"
)

// ReasonInvalidMessage is the reason of the 400 error (gRPC code
// InvalidArgument) an RPC fails with when a request message does not
// decode.
const ReasonInvalidMessage = "INVALID_MESSAGE"

// failureField is the field number under which serverCodec records, in a
// message's unknown fields, that the message did not decode. It is the last
// number protobuf reserves for itself, which no .proto file may declare; a
// client that sends it anyway only gets its own request rejected.
const failureField = protowire.LastReservedNumber

// serverCodec is grpc-go's proto codec, except that a message that does not
// decode is not an error but an empty message marked with the decoding
// error (see decodeFailure). grpc-go turns a codec's error into an Internal
// status and writes it to the client itself, before any interceptor or
// handler can choose the code; a marked message instead reaches Zelos's
// interceptor and serverStream.RecvMsg, which fail the RPC with
// InvalidArgument. Keeping the mark in the message, rather than in a table
// of the server's, means nothing is left behind when grpc-go fails the RPC
// for another reason after decoding.
type serverCodec struct {
	encoding.CodecV2
}

func newServerCodec() serverCodec {
	return serverCodec{CodecV2: encoding.GetCodecV2(ggrpcproto.Name)}
}

// Unmarshal decodes data into v, marking v if data does not decode.
func (c serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(protoreflect.ProtoMessage)
	if !ok {
		return err
	}
	proto.Reset(m)
	b := protowire.AppendTag(nil, failureField, protowire.BytesType)
	b = protowire.AppendString(b, err.Error())
	m.ProtoReflect().SetUnknown(b)
	return nil
}

// decodeFailure returns the 400 error for a request message serverCodec
// marked, and nil for any other message. For an unmarked message it
// allocates nothing and takes about 30 ns (BenchmarkDecodeFailure), against
// the tens of microseconds of a loopback call; BenchmarkGRPC's allocations
// did not change with it.
func decodeFailure(req any) error {
	m, ok := req.(protoreflect.ProtoMessage)
	if !ok {
		return nil
	}
	u := m.ProtoReflect().GetUnknown()
	if len(u) == 0 {
		return nil
	}
	num, typ, n := protowire.ConsumeTag(u)
	if n < 0 || num != failureField || typ != protowire.BytesType {
		return nil
	}
	text, n := protowire.ConsumeBytes(u[n:])
	if n < 0 {
		return nil
	}
	return errors.BadRequest(ReasonInvalidMessage, "transport/grpc: invalid request message: "+string(text))
}
