package registry_test

import (
	"testing"

	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/registry/registrytest"
)

// TestContract holds the in-memory registry to the contract of every
// registry. It has no backend to crash or restart, and keeps instances
// until they are deregistered, so Crash and Restart are skipped.
func TestContract(t *testing.T) {
	r := registry.NewInMemory()
	registrytest.Run(t, registrytest.Harness{
		NewRegistrar: func(*testing.T) registry.Registrar { return r },
		NewDiscovery: func(*testing.T) registry.Discovery { return r },
	})
}
