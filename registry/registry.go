// Package registry defines service registration and discovery, and provides
// an in-memory implementation for development and tests.
//
// Implementations backed by etcd, consul and others live in their own
// modules under contrib/registry.
package registry

import "context"

// ServiceInstance is one running instance of a service.
type ServiceInstance struct {
	// ID is unique per instance.
	ID string `json:"id"`
	// Name is the service name, such as "user.service".
	Name string `json:"name"`
	// Version is the instance's version.
	Version string `json:"version"`
	// Metadata is free-form; the selector reads "weight" and filters may read
	// keys such as "zone".
	Metadata map[string]string `json:"metadata"`
	// Endpoints are URLs such as grpc://127.0.0.1:9000 and
	// http://127.0.0.1:8000.
	Endpoints []string `json:"endpoints"`
}

// Registrar registers and deregisters instances.
type Registrar interface {
	Register(ctx context.Context, service *ServiceInstance) error
	Deregister(ctx context.Context, service *ServiceInstance) error
}

// Discovery finds the instances of a service by name.
type Discovery interface {
	// GetService returns the current instances of a service.
	GetService(ctx context.Context, serviceName string) ([]*ServiceInstance, error)
	// Watch returns a Watcher of the service's instances.
	Watch(ctx context.Context, serviceName string) (Watcher, error)
}

// Watcher reports changes in a service's instances.
type Watcher interface {
	// Next returns the current instances at once on its first call. Later
	// calls block until the instances change, the watcher is stopped, or the
	// context given to Watch is done.
	Next() ([]*ServiceInstance, error)
	// Stop stops the watcher; a blocked Next returns an error.
	Stop() error
}
