package prometheus_test

import (
	"fmt"
	nethttp "net/http"

	"github.com/prometheus/client_golang/prometheus"

	zprom "github.com/zelos-go/zelos/contrib/metrics/prometheus"
	"github.com/zelos-go/zelos/middleware/metrics"
	"github.com/zelos-go/zelos/transport/http"
)

func ExampleNewMeterProvider() {
	reg := prometheus.NewRegistry()
	mp, err := zprom.NewMeterProvider(reg)
	if err != nil {
		panic(err)
	}
	srv := http.NewServer(http.Address(":8000"), http.Middleware(metrics.Server(metrics.WithMeterProvider(mp))))
	admin := nethttp.NewServeMux()
	admin.Handle("/metrics", zprom.Handler(reg))
	fmt.Println(srv != nil)
	// Output: true
}
