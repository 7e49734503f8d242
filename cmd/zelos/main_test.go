package main

import (
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

func TestVersion(t *testing.T) {
	out := gentest.RunMainRaw(t, main, nil, "zelos", "version")
	if got := string(out); got != "zelos "+version.Version+"\n" {
		t.Errorf("zelos version: %q", got)
	}
}
