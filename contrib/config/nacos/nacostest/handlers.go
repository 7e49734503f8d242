package nacostest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	nacosgrpc "github.com/nacos-group/nacos-sdk-go/v2/api/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/anypb"
)

// Codes of Nacos's responses.
const (
	codeSuccess      = 200
	codeFail         = 500
	codeUnregistered = 301 // "connection is unregistered": the client connects again
	codeNotFound     = 300 // config data not exist
	codeBadRequest   = 400
)

// response is the common part of every response body.
type response struct {
	ResultCode int    `json:"resultCode"`
	ErrorCode  int    `json:"errorCode"`
	Success    bool   `json:"success"`
	Message    string `json:"message"`
	RequestID  string `json:"requestId"`
}

var success = response{ResultCode: codeSuccess, Success: true}

func failure(code int, format string, args ...any) response {
	return response{ResultCode: codeFail, ErrorCode: code, Message: fmt.Sprintf(format, args...)}
}

// requestService serves Request.request.
type requestService struct{ s *Server }

func payload(typ string, body any) *nacosgrpc.Payload {
	b, _ := json.Marshal(body)
	return &nacosgrpc.Payload{Metadata: &nacosgrpc.Metadata{Type: typ}, Body: &anypb.Any{Value: b}}
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

func (r requestService) Request(ctx context.Context, p *nacosgrpc.Payload) (*nacosgrpc.Payload, error) {
	s := r.s
	typ := p.GetMetadata().GetType()
	s.count(typ)
	body := p.GetBody().GetValue()
	addr := peerAddr(ctx)
	if typ == "ServerCheckRequest" {
		return payload("ServerCheckResponse", struct {
			response
			ConnectionID string `json:"connectionId"`
		}{success, s.register(addr)}), nil
	}
	s.mu.Lock()
	c := s.conns[addr]
	setup := c != nil && c.setup
	s.mu.Unlock()
	if !setup {
		return payload("ErrorResponse", failure(codeUnregistered, "Connection is unregistered.")), nil
	}
	h, found := handlers[typ]
	if !found {
		return payload("ErrorResponse", failure(codeBadRequest, "unknown payload type %q", typ)), nil
	}
	respType, resp, pushes := h(s, c, body)
	s.sendAll(pushes)
	return payload(respType, resp), nil
}

// register records a new connection from addr and names it, as Nacos does,
// by the time and the address.
func (s *Server) register(addr string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextConn++
	id := strconv.FormatInt(time.Now().UnixMilli(), 10) + "_" + addr + "_" + strconv.Itoa(s.nextConn)
	if old := s.conns[addr]; old != nil {
		return old.id
	}
	s.conns[addr] = &conn{id: id, kill: make(chan struct{})}
	return id
}

type handler func(s *Server, c *conn, body []byte) (respType string, resp any, pushes []push)

var handlers = map[string]handler{
	"HealthCheckRequest": func(*Server, *conn, []byte) (string, any, []push) {
		return "HealthCheckResponse", success, nil
	},
	"ConfigQueryRequest":       (*Server).configQuery,
	"ConfigBatchListenRequest": (*Server).configBatchListen,
	"ConfigPublishRequest":     (*Server).configPublish,
	"ConfigRemoveRequest":      (*Server).configRemove,
	"InstanceRequest":          (*Server).instanceRequest,
	"BatchInstanceRequest":     (*Server).batchInstance,
	"SubscribeServiceRequest":  (*Server).subscribe,
	"ServiceQueryRequest":      (*Server).serviceQuery,
	"ServiceListRequest":       (*Server).serviceList,
}

// streamService serves BiRequestStream.requestBiStream.
type streamService struct{ s *Server }

func (st streamService) RequestBiStream(stream nacosgrpc.BiRequestStream_RequestBiStreamServer) error {
	s := st.s
	addr := peerAddr(stream.Context())
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	if first.GetMetadata().GetType() != "ConnectionSetupRequest" {
		return fmt.Errorf("nacostest: first stream message is %q, not ConnectionSetupRequest", first.GetMetadata().GetType())
	}
	var setup struct {
		ClientVersion string            `json:"clientVersion"`
		Labels        map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(first.GetBody().GetValue(), &setup); err != nil {
		return fmt.Errorf("nacostest: ConnectionSetupRequest: %w", err)
	}
	s.count("ConnectionSetupRequest")
	s.mu.Lock()
	c := s.conns[addr]
	if c == nil { // no ServerCheckRequest on this connection
		s.mu.Unlock()
		return fmt.Errorf("nacostest: stream from %s without a server check", addr)
	}
	c.stream, c.setup, c.labels = stream, true, setup.Labels
	s.mu.Unlock()
	defer s.closeConn(c)

	// The client answers pushes on the stream; the fake does not wait for
	// the answers, so it only reads them until the stream ends, or until
	// DropConnections ends it from this side.
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			if strings.HasSuffix(m.GetMetadata().GetType(), "Response") {
				s.count(m.GetMetadata().GetType())
			}
		}
	}()
	select {
	case <-ended:
	case <-c.kill:
	}
	return nil
}
