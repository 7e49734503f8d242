package project_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/project"
)

// fakeCheckout writes a directory that looks like a Zelos checkout.
func fakeCheckout(t *testing.T, parent, name, work string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/zelos-go/zelos\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if work != "" {
		if err := os.WriteFile(filepath.Join(dir, "go.work"), []byte(work), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNewCheckout checks what zelos new writes for a service built against
// a checkout (replace, isolating go.work, a Makefile building the CLI from
// it) and for the release (none of it, and a pinned CLI version).
func TestNewCheckout(t *testing.T) {
	t.Run("checkout", func(t *testing.T) {
		tmp := t.TempDir()
		co := fakeCheckout(t, tmp, "co", "go 1.26.7\n\nuse (\n\t.\n\t./cmd/zelos\n)\n")
		dir, err := project.New(tmp, project.Options{Name: "demo", Checkout: co})
		if err != nil {
			t.Fatal(err)
		}
		if gomod := readFile(t, filepath.Join(dir, "go.mod")); !strings.Contains(gomod, "\nreplace github.com/zelos-go/zelos => "+co+"\n") {
			t.Errorf("go.mod has no replace for %s:\n%s", co, gomod)
		}
		work := readFile(t, filepath.Join(dir, "go.work"))
		if !strings.Contains(work, "\ngo 1.26.7\n\nuse .\n") {
			t.Errorf("go.work does not take the checkout's go version and use only the service:\n%s", work)
		}
		mk := readFile(t, filepath.Join(dir, "Makefile"))
		if !strings.Contains(mk, "ZELOS_CHECKOUT := "+co+"\n") || !strings.Contains(mk, "cd $(ZELOS_CHECKOUT) && go build -o $(CURDIR)/bin/zelos ./cmd/zelos") {
			t.Errorf("Makefile does not build zelos from the checkout:\n%s", mk)
		}
		if strings.Contains(mk, "@latest") {
			t.Errorf("Makefile installs @latest:\n%s", mk)
		}
		if readme := readFile(t, filepath.Join(dir, "README.md")); !strings.Contains(readme, co) {
			t.Errorf("README does not name the checkout:\n%s", readme)
		}
	})
	t.Run("release", func(t *testing.T) {
		dir, err := project.New(t.TempDir(), project.Options{Name: "demo"})
		if err != nil {
			t.Fatal(err)
		}
		if gomod := readFile(t, filepath.Join(dir, "go.mod")); strings.Contains(gomod, "replace") {
			t.Errorf("go.mod has a replace:\n%s", gomod)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			t.Error("go.work written for the release")
		}
		mk := readFile(t, filepath.Join(dir, "Makefile"))
		if strings.Contains(mk, "@latest") || !strings.Contains(mk, "cmd/zelos@v") {
			t.Errorf("Makefile does not install a pinned zelos:\n%s", mk)
		}
	})
	t.Run("checkout without go.work", func(t *testing.T) {
		tmp := t.TempDir()
		co := fakeCheckout(t, tmp, "co", "")
		dir, err := project.New(tmp, project.Options{Name: "demo", Checkout: co})
		if err != nil {
			t.Fatal(err)
		}
		if work := readFile(t, filepath.Join(dir, "go.work")); !strings.Contains(work, "\ngo "+project.WorkGoVersion+"\n") {
			t.Errorf("go.work lacks go %s:\n%s", project.WorkGoVersion, work)
		}
	})
	t.Run("path with a space", func(t *testing.T) {
		tmp := t.TempDir()
		co := fakeCheckout(t, tmp, "my co", "")
		dir, err := project.New(tmp, project.Options{Name: "demo", Checkout: co})
		if err != nil {
			t.Fatal(err)
		}
		if gomod := readFile(t, filepath.Join(dir, "go.mod")); !strings.Contains(gomod, "=> "+strconv.Quote(co)+"\n") {
			t.Errorf("go.mod does not quote %q:\n%s", co, gomod)
		}
	})
	t.Run("nomod ignores the checkout", func(t *testing.T) {
		tmp := t.TempDir()
		co := fakeCheckout(t, tmp, "co", "")
		if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte("module example.com/mono\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		dir, err := project.New(tmp, project.Options{Name: "svc", NoMod: true, Checkout: co})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"go.mod", "go.work"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("--nomod wrote %s", f)
			}
		}
	})
	t.Run("not a checkout", func(t *testing.T) {
		tmp := t.TempDir()
		if _, err := project.New(tmp, project.Options{Name: "demo", Checkout: tmp}); err == nil || !strings.Contains(err.Error(), "is no Zelos checkout") {
			t.Errorf("err = %v, want a no-checkout error", err)
		}
	})
}

// TestFindCheckout finds the checkout this test was built from: the source
// path of the package, three directories above cmd/zelos/internal/project.
func TestFindCheckout(t *testing.T) {
	root := frameworkRoot(t)
	if got := project.FindCheckout(); got != root {
		t.Errorf("FindCheckout = %q, want %q", got, root)
	}
	if !project.IsCheckout(root) {
		t.Errorf("IsCheckout(%s) = false", root)
	}
	if project.IsCheckout(filepath.Join(root, "cmd", "zelos")) {
		t.Error("IsCheckout(cmd/zelos) = true: it is the CLI's module")
	}
}
