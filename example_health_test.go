package zelos_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/health"
	"github.com/zelos-go/zelos/log"
	zhttp "github.com/zelos-go/zelos/transport/http"
)

// A service whose HTTP server answers the Kubernetes probes with no code
// of its own: /readyz is 503 while the database check fails, and lists the
// checks with ?verbose.
func ExampleHealthCheck() {
	srv := zhttp.NewServer(zhttp.Address("127.0.0.1:0"), zhttp.Logger(log.NewStdLogger(io.Discard)))
	db := func(context.Context) error { return errors.New("connection refused") }

	var app *zelos.App
	probe := func(context.Context) error {
		defer app.Stop()
		u, err := srv.Endpoint()
		if err != nil {
			return err
		}
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		for _, path := range []string{"/healthz", "/readyz?verbose"} {
			resp, err := (&http.Client{Transport: tr}).Get(u.String() + path)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("%s %d\n%s", path, resp.StatusCode, body)
		}
		return nil
	}
	app = zelos.New(zelos.Server(srv), zelos.Signal(), zelos.HealthCheck("db", db), zelos.AfterStart(probe))
	if err := app.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// /healthz 200
	// ok
	// /readyz?verbose 503
	// [+]serving ok
	// [-]db failed
	// readyz check failed
}

// On a stop the App is unready at once; it deregisters, keeps serving for
// the drain delay while load balancers notice, then stops its servers.
func ExampleDrainDelay() {
	var app *zelos.App
	app = zelos.New(
		zelos.Signal(),
		zelos.DrainDelay(50*time.Millisecond), // a few readinessProbe periods in production
		zelos.AfterStart(func(context.Context) error {
			fmt.Println("ready:", app.Health().State())
			_ = app.Stop()
			fmt.Println("after Stop:", app.Health().State())
			return nil
		}),
		zelos.AfterStop(func(context.Context) error {
			fmt.Println("stopped")
			return nil
		}),
	)
	start := time.Now()
	if err := app.Run(); err != nil {
		fmt.Println(err)
	}
	fmt.Println("drained:", time.Since(start) >= 50*time.Millisecond, app.Health().State() == health.Stopping)
	// Output:
	// ready: serving
	// after Stop: stopping
	// stopped
	// drained: true true
}
