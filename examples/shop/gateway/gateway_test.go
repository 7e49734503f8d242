package shopgateway

import (
	"os"
	"testing"

	"github.com/zelos-go/zelos/gateway"
	"github.com/zelos-go/zelos/registry"
)

func TestConfigIsValid(t *testing.T) {
	cfg, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:8000" || len(cfg.Endpoints) != 6 {
		t.Fatalf("%+v", cfg)
	}
	g, err := gateway.New(cfg, gateway.WithDiscovery(registry.NewInMemory()))
	if err != nil {
		t.Fatalf("the gateway refuses it: %v", err)
	}
	_ = g.Close()
	// The file on disk, as zelos-gateway reads it, is the same.
	b, err := os.ReadFile("configs/gateway.yaml")
	if err != nil || string(b) != string(Config) {
		t.Fatal("embedded config differs from the file")
	}
	if _, err := gateway.LoadConfig("configs/gateway.yaml"); err != nil {
		t.Fatal(err)
	}
}
