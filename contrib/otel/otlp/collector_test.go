package otlp_test

import (
	"context"
	"encoding/hex"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	ggrpc "google.golang.org/grpc"
)

// collector is an in-process OTLP/gRPC trace receiver: the
// opentelemetry.proto.collector.trace.v1.TraceService, built from the OTLP
// protos (go.opentelemetry.io/proto/otlp), that keeps every span it is sent.
type collector struct {
	coltrace.UnimplementedTraceServiceServer
	srv  *ggrpc.Server
	addr string

	mu    sync.Mutex
	spans []*span
}

// span is a received span with the service that sent it.
type span struct {
	service string
	*tracepb.Span
}

func (s *span) traceID() string  { return hex.EncodeToString(s.TraceId) }
func (s *span) spanID() string   { return hex.EncodeToString(s.SpanId) }
func (s *span) parentID() string { return hex.EncodeToString(s.ParentSpanId) }

func (s *span) attr(key string) string {
	for _, kv := range s.Attributes {
		if kv.Key != key {
			continue
		}
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10)
		}
	}
	return ""
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{srv: ggrpc.NewServer(), addr: lis.Addr().String()}
	coltrace.RegisterTraceServiceServer(c.srv, c)
	go func() { _ = c.srv.Serve(lis) }()
	t.Cleanup(c.srv.Stop)
	return c
}

// Export implements the TraceService.
func (c *collector) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		var service string
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, &span{service: service, Span: s})
			}
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// wait returns the spans once n have arrived.
func (c *collector) wait(t *testing.T, n int) []*span {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.mu.Lock()
		got := append([]*span(nil), c.spans...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector got %d spans, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
