package prometheus_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	zprom "github.com/zelos-go/zelos/contrib/metrics/prometheus"
	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/middleware/circuitbreaker"
	"github.com/zelos-go/zelos/middleware/ratelimit"
	"github.com/zelos-go/zelos/middleware/retry"
)

// TestResiliencePiecesReport checks that the breaker state, rate-limit
// rejections and retries reach Prometheus through the same MeterProvider.
func TestResiliencePiecesReport(t *testing.T) {
	reg := prometheus.NewRegistry()
	mp, err := zprom.NewMeterProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Shutdown(context.Background())
	ctx := context.Background()
	down := func(context.Context, any) (any, error) { return nil, errors.ServiceUnavailable("DOWN", "down") }

	breaker := circuitbreaker.Client(circuitbreaker.WithMeterProvider(mp), circuitbreaker.WithCommandName("user.service"),
		circuitbreaker.WithFailureRatio(0.5), circuitbreaker.WithMinRequests(2))(down)
	for range 3 {
		_, _ = breaker(ctx, nil)
	}
	limited := ratelimit.Server(ratelimit.WithMeterProvider(mp), ratelimit.WithLimiter(ratelimit.NewMemoryLimiter(ratelimit.WithBurst(1))))(
		func(context.Context, any) (any, error) { return "ok", nil })
	for range 3 {
		_, _ = limited(ctx, nil)
	}
	retried := retry.Client(retry.WithMeterProvider(mp), retry.WithDelay(time.Millisecond), retry.WithAttempts(3))(down)
	_, _ = retried(ctx, nil)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, mf := range mfs {
		_, _ = expfmt.MetricFamilyToText(&out, mf)
	}
	for _, want := range []string{
		`zelos_client_circuitbreaker_state{otel_scope_name="github.com/zelos-go/zelos/middleware/circuitbreaker",otel_scope_schema_url="",otel_scope_version="",zelos_circuitbreaker_name="user.service"} 1`,
		`zelos_server_ratelimit_rejections_total{otel_scope_name="github.com/zelos-go/zelos/middleware/ratelimit",otel_scope_schema_url="",otel_scope_version="",zelos_operation=""} 2`,
		`zelos_client_retries_total{otel_scope_name="github.com/zelos-go/zelos/middleware/retry",otel_scope_schema_url="",otel_scope_version="",zelos_error_code="503"} 2`,
	} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("exposition lacks\n%s\nin\n%s", want, out.String())
		}
	}
}
