package runner_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zelos-go/zelos/cmd/zelos/internal/gentest"
	"github.com/zelos-go/zelos/cmd/zelos/internal/runner"
)

// module writes a Go module with files.
func module(t *testing.T, files map[string]string) string {
	t.Helper()
	files["go.mod"] = "module example.com/r\n\ngo 1.26.0\n"
	return gentest.Files(t, files)
}

// TestRun runs the only program of a module from a directory below its
// root, with arguments and standard streams, and reports its exit status.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run")
	}
	dir := module(t, map[string]string{
		"cmd/echo/main.go": `package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	in, _ := io.ReadAll(os.Stdin)
	fmt.Printf("%s|%s", strings.Join(os.Args[1:], ","), in)
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		fmt.Fprint(os.Stderr, "failing")
		os.Exit(3)
	}
}
`,
		"internal/x/x.go": "package x\n",
	})
	t.Setenv("GOWORK", "off")
	var stdout, stderr bytes.Buffer
	o := runner.Options{Args: []string{"-conf", "c.yaml"}, Stdin: strings.NewReader("input"), Stdout: &stdout, Stderr: &stderr}
	if err := runner.Run(context.Background(), filepath.Join(dir, "internal", "x"), o); err != nil {
		t.Fatalf("Run: %v\n%s", err, stderr.String())
	}
	if got := stdout.String(); got != "-conf,c.yaml|input" {
		t.Errorf("stdout %q", got)
	}
	stdout.Reset()
	o.Args = []string{"fail"}
	err := runner.Run(context.Background(), dir, o)
	if err == nil || !strings.Contains(err.Error(), "zelos run: go run ./cmd/echo fail exited: exit status 1") {
		// go run reports a failing program as its own exit status 1.
		t.Errorf("err = %v, want the program's failure", err)
	}
	if !strings.Contains(stderr.String(), "failing") {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := runner.Command(context.Background(), t.TempDir(), runner.Options{}); err == nil || !strings.HasPrefix(err.Error(), "zelos run: no go.mod") {
		t.Errorf("outside a module: %v", err)
	}
	dir := module(t, map[string]string{"main.go": "package main\n\nfunc main() {}\n"})
	if _, err := runner.Command(context.Background(), dir, runner.Options{}); err == nil || !strings.HasPrefix(err.Error(), "zelos run: ") {
		t.Errorf("no cmd/: %v", err)
	}
	dir = module(t, map[string]string{"cmd/lib/lib.go": "package lib\n"})
	if _, err := runner.Command(context.Background(), dir, runner.Options{}); err == nil || !strings.Contains(err.Error(), "zelos run: no main package under") {
		t.Errorf("no main package: %v", err)
	}
	if err := runner.Run(context.Background(), dir, runner.Options{}); err == nil {
		t.Error("Run with no main package: no error")
	}
}

// TestCommand checks the go run command chosen, without running it.
func TestCommand(t *testing.T) {
	dir := module(t, map[string]string{
		"cmd/api/main.go":    "package main\n\nfunc main() {}\n",
		"cmd/worker/main.go": "// Command worker.\npackage main\n\nfunc main() {}\n",
		"cmd/lib/lib.go":     "package lib\n",
	})
	c, err := runner.Command(context.Background(), filepath.Join(dir, "cmd"), runner.Options{Cmd: "worker", Args: []string{"-conf", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Args, " "); got != "go run ./cmd/worker -conf x" || c.Dir != dir {
		t.Errorf("command %q in %s", got, c.Dir)
	}
	if _, err := runner.Command(context.Background(), dir, runner.Options{}); err == nil || !strings.Contains(err.Error(), "several programs under cmd/ (api, worker): choose one with --cmd") {
		t.Errorf("two programs: %v", err)
	}
	if _, err := runner.Command(context.Background(), dir, runner.Options{Cmd: "lib"}); err == nil || !strings.Contains(err.Error(), `no program "lib" under cmd/ (have api, worker)`) {
		t.Errorf("--cmd lib: %v", err)
	}
}

// TestRunNoGo checks the error when go itself cannot be started.
func TestRunNoGo(t *testing.T) {
	dir := module(t, map[string]string{"cmd/api/main.go": "package main\n\nfunc main() {}\n"})
	t.Setenv("PATH", t.TempDir())
	err := runner.Run(context.Background(), dir, runner.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "zelos run: ") || strings.Contains(err.Error(), "exited") {
		t.Errorf("err = %v, want a zelos run error starting go", err)
	}
}
