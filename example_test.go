package zelos_test

import (
	"context"
	"fmt"

	"github.com/zelos-go/zelos"
)

// ExampleNew runs an App with no servers and stops it from a hook; a real
// service passes its HTTP and gRPC servers with zelos.Server and a registry
// with zelos.Registrar.
func ExampleNew() {
	var app *zelos.App
	app = zelos.New(
		zelos.ID("user-1"),
		zelos.Name("user.service"),
		zelos.Version("1.0.0"),
		zelos.Metadata(map[string]string{"zone": "a"}),
		zelos.AfterStart(func(ctx context.Context) error {
			info, _ := zelos.FromContext(ctx)
			fmt.Println("started", info.Name(), info.Version())
			return app.Stop()
		}),
		zelos.AfterStop(func(context.Context) error {
			fmt.Println("stopped")
			return nil
		}),
	)
	if err := app.Run(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// started user.service 1.0.0
	// stopped
}
