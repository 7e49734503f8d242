package zelos_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/zelos-go/zelos"
	"github.com/zelos-go/zelos/registry"
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

// downRegistry is a registry that cannot be reached.
type downRegistry struct{}

func (downRegistry) Register(context.Context, *registry.ServiceInstance) error {
	return errors.New("registry unreachable")
}

func (downRegistry) Deregister(context.Context, *registry.ServiceInstance) error { return nil }

// By default an App whose registry is down serves anyway and keeps trying
// to register in the background. RegistrarFailFast makes Run fail instead,
// for deployments that would rather restart the process.
func ExampleRegistrarFailFast() {
	app := zelos.New(
		zelos.Name("user.service"),
		zelos.ID("user-1"),
		zelos.Registrar(downRegistry{}),
		zelos.RegistrarFailFast(),
	)
	fmt.Println(app.Run())
	// Output:
	// zelos: register user.service (user-1): registry unreachable
}
