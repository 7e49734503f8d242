package runner

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestIsMain(t *testing.T) {
	for src, want := range map[string]bool{
		"package main\n":                                   true,
		"package main // the server\n":                     true,
		"// Command x.\n/* package lib */\npackage main\n": true,
		"package mainly\n":                                 false,
		"package lib\n":                                    false,
		"not go at all":                                    false,
	} {
		if got := isMain([]byte(src)); got != want {
			t.Errorf("isMain(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestMains(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cmd/api/main.go", "package main // api\n\nfunc main() {}\n")
	write("cmd/worker/worker.go", "package main\n")
	write("cmd/lib/lib.go", "package lib\n")
	write("cmd/tests/x_test.go", "package main\n")
	got, err := Mains(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"api", "worker"}; !slices.Equal(got, want) {
		t.Fatalf("Mains = %v, want %v", got, want)
	}
}
