package gateway

import (
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// partialCodec is the proto codec of the transcoding connections. It skips
// the required-field check grpc-go's codec runs on every message, which for
// the dynamic messages transcoding builds costs allocations a call: proto3
// has no required fields, and a proto2 backend checks its own requests.
type partialCodec struct{}

var (
	marshalPartial   = proto.MarshalOptions{AllowPartial: true}
	unmarshalPartial = proto.UnmarshalOptions{AllowPartial: true}
)

func (partialCodec) Name() string { return "proto" }

func (partialCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := marshalPartial.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (partialCodec) Unmarshal(data mem.BufferSlice, v any) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return unmarshalPartial.Unmarshal(buf.ReadOnlyData(), v.(proto.Message))
}
