package transcode

import (
	"context"
	stdjson "encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/zelos-go/zelos/errors"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// Invoke calls the route's unary method on cc with req (a message from
// Decode) and returns the reply, a dynamic message. A failed call returns
// the *errors.Error its gRPC status carries (errors.FromGRPCStatus): the
// backend's code, reason and metadata, or the status code's name as the
// reason for a backend that is not Zelos. A backend that cannot be reached
// is 503 UNAVAILABLE naming the gRPC service, not its address.
func (b *Binding) Invoke(ctx context.Context, cc grpc.ClientConnInterface, req proto.Message, opts ...grpc.CallOption) (proto.Message, error) {
	if b.streamDesc != nil {
		return nil, fmt.Errorf("transcode: %s is server-streaming: use Stream", b.fullMethod)
	}
	reply := dynamicpb.NewMessage(b.method.Output())
	if err := cc.Invoke(ctx, b.fullMethod, req, reply, opts...); err != nil {
		return nil, b.callError(err)
	}
	return reply, nil
}

// callError converts the error of a call into a Zelos error. grpc-go's own
// UNAVAILABLE (no connection: a status with no details) names the address
// it failed to reach, which is no business of the client's: its message
// names the gRPC service instead, the address staying in the cause.
func (b *Binding) callError(err error) error {
	s, ok := status.FromError(err)
	if !ok {
		return errors.FromError(err)
	}
	se := errors.FromGRPCStatus(s)
	if se == nil {
		return errors.FromError(err)
	}
	if s.Code() == codes.Unavailable && len(s.Proto().GetDetails()) == 0 {
		se.Message = "service " + string(b.method.Parent().FullName()) + " is unavailable"
	}
	return se.WithCause(err)
}

// Encode writes reply (or its response_body field) as JSON with status 200,
// with the options of the Zelos JSON codec: unpopulated fields written,
// lowerCamelCase names, enums by name. A response_body that is not a
// message (a scalar, list or map) is written as the JSON value protojson
// gives the field. A nil reply is written as an empty one. A reply that
// cannot be encoded is a 500 ENCODE_REPLY error, returned with nothing
// written.
func (b *Binding) Encode(w http.ResponseWriter, r *http.Request, reply proto.Message) error {
	data, err := b.marshalReply(reply)
	if err != nil {
		return errors.InternalServer(zhttp.ReasonEncodeReply, "the reply cannot be encoded as application/json").WithCause(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

func (b *Binding) marshalReply(reply proto.Message) ([]byte, error) {
	if reply == nil {
		reply = dynamicpb.NewMessage(b.method.Output()) // as an empty reply
	}
	fd := b.respField
	if fd == nil {
		return b.t.codec.Marshal(reply)
	}
	m := reply.ProtoReflect()
	if isMessage(fd) {
		return b.t.codec.Marshal(m.Get(fd).Message().Interface())
	}
	// The JSON form of a scalar, list or map depends on its field (int64 as
	// a string, bytes as base64, enums by name): take it from the JSON of
	// a message holding that field only.
	one := m.Type().New()
	one.Set(fd, m.Get(fd))
	data, err := b.t.codec.Marshal(one.Interface())
	if err != nil {
		return nil, err
	}
	var obj map[string]stdjson.RawMessage
	if err := stdjson.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	return obj[fd.JSONName()], nil
}

// Stream calls the route's server-streaming method on cc with req and
// writes the replies to w as Server-Sent Events, as a Zelos server serves
// such a route: each message is one event whose data is its JSON. An error
// before the first message (the call failed, the backend refused the
// request) is returned with nothing written, for the caller to encode like
// any other; after it, the error is sent as an event of type "error" whose
// data is the Zelos error body, and Stream returns nil. Reply header
// metadata starting with "x-md-" becomes reply headers (CopyReplyMetadata).
// The stream ends when the backend ends it, ctx is done or the client goes
// away.
func (b *Binding) Stream(ctx context.Context, w http.ResponseWriter, r *http.Request, cc grpc.ClientConnInterface, req proto.Message, opts ...grpc.CallOption) error {
	if b.streamDesc == nil {
		return fmt.Errorf("transcode: %s is unary: use Invoke", b.fullMethod)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the call when the client goes away or we stop
	cs, err := cc.NewStream(ctx, b.streamDesc, b.fullMethod, opts...)
	if err != nil {
		return b.callError(err)
	}
	if err := cs.SendMsg(req); err != nil && !stderrors.Is(err, io.EOF) {
		return b.callError(err)
	}
	if err := cs.CloseSend(); err != nil {
		return b.callError(err)
	}
	msg := dynamicpb.NewMessage(b.method.Output())
	// The first message is awaited before the reply starts, so that a
	// backend refusing the request gets an ordinary error reply.
	err = cs.RecvMsg(msg)
	empty := stderrors.Is(err, io.EOF)
	if err != nil && !empty {
		return b.callError(err)
	}
	if md, err := cs.Header(); err == nil {
		CopyReplyMetadata(w.Header(), md)
	}
	sw, err := zhttp.NewSSEWriter(w, r, b.t.sse...)
	if err != nil {
		return errors.InternalServer(zhttp.ReasonEncodeReply, "the reply cannot be streamed").WithCause(err)
	}
	defer sw.Close()
	// The writer ends with r's context; ctx may end sooner (a timeout).
	stop := context.AfterFunc(ctx, func() { _ = sw.Close() })
	defer stop()
	if empty {
		return nil
	}
	for {
		data, err := b.t.codec.Marshal(msg)
		if err != nil {
			b.sendError(sw, errors.InternalServer(zhttp.ReasonEncodeReply, "a reply cannot be encoded as application/json").WithCause(err))
			return nil
		}
		if sw.Send(zhttp.Event{Data: data}) != nil {
			return nil // the client went away, or ctx ended
		}
		msg = dynamicpb.NewMessage(b.method.Output())
		if err := cs.RecvMsg(msg); err != nil {
			if !stderrors.Is(err, io.EOF) {
				b.sendError(sw, b.callError(err))
			}
			return nil
		}
	}
}

// sendError sends err as the stream's last event.
func (b *Binding) sendError(sw *zhttp.SSEWriter, err error) {
	data, mErr := stdjson.Marshal(errors.FromError(err))
	if mErr != nil {
		data = []byte(`{"code":500,"reason":"UNKNOWN","message":"internal server error"}`)
	}
	_ = sw.Send(zhttp.Event{Event: "error", Data: data})
}
