package nacostest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	nacosgrpc "github.com/nacos-group/nacos-sdk-go/v2/api/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
)

// rawClient speaks the protocol by hand, for the answers the SDK never
// provokes.
type rawClient struct {
	req nacosgrpc.RequestClient
}

func (c *rawClient) call(t *testing.T, typ string, body any) (string, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := c.req.Request(ctx, &nacosgrpc.Payload{Metadata: &nacosgrpc.Metadata{Type: typ}, Body: &anypb.Any{Value: b}})
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	var out map[string]any
	if err := json.Unmarshal(p.GetBody().GetValue(), &out); err != nil {
		t.Fatalf("%s: answer %q: %v", typ, p.GetBody().GetValue(), err)
	}
	return p.GetMetadata().GetType(), out
}

func TestRawProtocol(t *testing.T) {
	srv := newServer(t)
	conn, err := grpc.NewClient(srv.GrpcAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &rawClient{req: nacosgrpc.NewRequestClient(conn)}

	t.Run("requests before setup are unregistered", func(t *testing.T) {
		typ, body := c.call(t, "HealthCheckRequest", map[string]any{})
		if typ != "ErrorResponse" || body["errorCode"] != float64(301) {
			t.Errorf("answer %s %v", typ, body)
		}
	})
	typ, body := c.call(t, "ServerCheckRequest", map[string]any{})
	if typ != "ServerCheckResponse" || body["connectionId"] == "" {
		t.Fatalf("server check: %s %v", typ, body)
	}
	stream, err := nacosgrpc.NewBiRequestStreamClient(conn).RequestBiStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	setup, _ := json.Marshal(map[string]any{"clientVersion": "raw", "labels": map[string]string{"module": "test"}})
	if err := stream.Send(&nacosgrpc.Payload{Metadata: &nacosgrpc.Metadata{Type: "ConnectionSetupRequest"}, Body: &anypb.Any{Value: setup}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the connection set up", func() bool { return srv.Connections() == 1 })

	cases := []struct {
		name, typ string
		body      any
		wantType  string
		wantCode  float64 // errorCode; 0 for success
	}{
		{"health", "HealthCheckRequest", map[string]any{}, "HealthCheckResponse", 0},
		{"unknown type", "NoSuchRequest", map[string]any{}, "ErrorResponse", 400},
		{"query without data ID", "ConfigQueryRequest", map[string]any{"group": "G"}, "ConfigQueryResponse", 400},
		{"query of a missing data ID", "ConfigQueryRequest", map[string]any{"dataId": "x", "group": "G"}, "ConfigQueryResponse", 300},
		{"listen, bad body", "ConfigBatchListenRequest", "not an object", "ConfigChangeBatchListenResponse", 400},
		{"publish without content", "ConfigPublishRequest", map[string]any{"dataId": "x", "group": "G"}, "ConfigPublishResponse", 400},
		{"remove without group", "ConfigRemoveRequest", map[string]any{"dataId": "x"}, "ConfigRemoveResponse", 400},
		{"instance without service", "InstanceRequest", map[string]any{"groupName": "G"}, "InstanceResponse", 400},
		{"instance of unknown type", "InstanceRequest", map[string]any{"serviceName": "s", "groupName": "G", "type": "x",
			"instance": map[string]any{"ip": "127.0.0.1", "port": 1}}, "InstanceResponse", 400},
		{"batch of another type", "BatchInstanceRequest", map[string]any{"serviceName": "s", "groupName": "G", "type": "x"}, "BatchInstanceResponse", 400},
		{"subscribe without group", "SubscribeServiceRequest", map[string]any{"serviceName": "s"}, "SubscribeServiceResponse", 400},
		{"query service", "ServiceQueryRequest", map[string]any{"serviceName": "s", "groupName": "G", "healthyOnly": true}, "QueryServiceResponse", 0},
		{"query without group", "ServiceQueryRequest", map[string]any{"serviceName": "s"}, "QueryServiceResponse", 400},
		{"service list page", "ServiceListRequest", map[string]any{"groupName": "G", "pageNo": 2, "pageSize": 1}, "ServiceListResponse", 0},
		{"service list, bad body", "ServiceListRequest", "x", "ServiceListResponse", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			typ, body := c.call(t, tc.typ, tc.body)
			code, _ := body["errorCode"].(float64)
			if typ != tc.wantType || code != tc.wantCode {
				t.Errorf("answer %s %v; want %s with errorCode %v", typ, body, tc.wantType, tc.wantCode)
			}
		})
	}

	t.Run("a listener gets a push", func(t *testing.T) {
		c.call(t, "ConfigBatchListenRequest", map[string]any{"listen": true, "configListenContexts": []map[string]any{
			{"dataId": "pushed.json", "group": "G", "tenant": "", "md5": ""}}})
		srv.PublishConfig("", "G", "pushed.json", "{}")
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetMetadata().GetType() != "ConfigChangeNotifyRequest" {
			t.Errorf("push of type %q", m.GetMetadata().GetType())
		}
		ack, _ := json.Marshal(map[string]any{"resultCode": 200})
		_ = stream.Send(&nacosgrpc.Payload{Metadata: &nacosgrpc.Metadata{Type: "ConfigChangeNotifyResponse"}, Body: &anypb.Any{Value: ack}})
		eventually(t, "the answer counted", func() bool { return srv.Requests("ConfigChangeNotifyResponse") == 1 })
		if srv.Listeners("", "G", "pushed.json") != 1 {
			t.Error("no listener recorded")
		}
		c.call(t, "ConfigBatchListenRequest", map[string]any{"listen": false, "configListenContexts": []map[string]any{
			{"dataId": "pushed.json", "group": "G"}}})
		if srv.Listeners("", "G", "pushed.json") != 0 {
			t.Error("the listener stayed after listen false")
		}
	})
	t.Run("muted pushes", func(t *testing.T) {
		srv.MutePushes(true)
		defer srv.MutePushes(false)
		srv.DeleteConfig("", "G", "pushed.json")
	})
	t.Run("a stream must start with setup", func(t *testing.T) {
		other, err := grpc.NewClient(srv.GrpcAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		s, err := nacosgrpc.NewBiRequestStreamClient(other).RequestBiStream(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Send(&nacosgrpc.Payload{Metadata: &nacosgrpc.Metadata{Type: "HealthCheckRequest"}, Body: &anypb.Any{Value: []byte("{}")}})
		if _, err := s.Recv(); err == nil {
			t.Error("a stream that did not set up was served")
		}
	})
}
