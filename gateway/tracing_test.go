package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTracingPerRoute: the gateway's server span is named by the endpoint
// and carries its route as http.route, a
// client span per attempt is its child, and the backend receives the trace
// context of that client span.
func TestTracingPerRoute(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	defer otel.SetTextMapPropagator(prev)

	b := echoBackend(t, "b")
	_, url := startGateway(t, fmt.Sprintf(`
endpoints:
  - {name: users, path: "/api/v1/users/{id}", backends: [{target: %s}]}
`, b.URL), WithTracerProvider(tp))
	code, _, body := get(t, url+"/api/v1/users/9")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	spans := rec.Ended()
	var server, client sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch s.SpanKind().String() {
		case "server":
			server = s
		case "client":
			client = s
		}
	}
	if server == nil || client == nil {
		t.Fatalf("spans: %v", spans)
	}
	route := ""
	for _, a := range server.Attributes() {
		if a.Key == "http.route" {
			route = a.Value.AsString()
		}
	}
	if server.Name() != "users" || route != "/api/v1/users/{id}" {
		t.Fatalf("server span %q, http.route %q: not the endpoint's", server.Name(), route)
	}
	if client.Parent().SpanID() != server.SpanContext().SpanID() || client.SpanContext().TraceID() != server.SpanContext().TraceID() {
		t.Fatal("the client span is not the server span's child")
	}
	want := client.SpanContext().TraceID().String()
	if !strings.Contains(body, want) {
		t.Fatalf("the backend did not get trace %s: %s", want, body)
	}
}
