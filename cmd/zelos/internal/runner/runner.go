// Package runner runs a service of a Zelos project with go run.
package runner

import (
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
)

// Options configure Run.
type Options struct {
	// Cmd names the program under cmd/ to run; it may be empty when there
	// is only one.
	Cmd string
	// Args are passed to the program.
	Args []string
	// Stdin, Stdout and Stderr are the program's; nil means none.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Mains returns the names of the directories under root/cmd that hold a
// main package, sorted.
func Mains(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "cmd"))
	if err != nil {
		return nil, fmt.Errorf("zelos run: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(root, "cmd", e.Name(), "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err == nil && isMain(b) {
				out = append(out, e.Name())
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// isMain reports whether the Go source src declares package main.
func isMain(src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.PackageClauseOnly)
	return err == nil && f.Name.Name == "main"
}

// Command returns the go run command for the program chosen by o in the
// module around dir.
func Command(ctx context.Context, dir string, o Options) (*exec.Cmd, error) {
	root, _, err := protoc.FindModule(dir)
	if err != nil {
		return nil, fmt.Errorf("zelos run: %w", err)
	}
	mains, err := Mains(root)
	if err != nil {
		return nil, err
	}
	name := o.Cmd
	switch {
	case len(mains) == 0:
		return nil, fmt.Errorf("zelos run: no main package under %s", filepath.Join(root, "cmd"))
	case name == "" && len(mains) > 1:
		return nil, fmt.Errorf("zelos run: several programs under cmd/ (%s): choose one with --cmd", strings.Join(mains, ", "))
	case name == "":
		name = mains[0]
	default:
		found := false
		for _, m := range mains {
			found = found || m == name
		}
		if !found {
			return nil, fmt.Errorf("zelos run: no program %q under cmd/ (have %s)", name, strings.Join(mains, ", "))
		}
	}
	args := append([]string{"run", "./cmd/" + name}, o.Args...)
	c := exec.CommandContext(ctx, "go", args...)
	c.Dir = root
	c.Stdin, c.Stdout, c.Stderr = o.Stdin, o.Stdout, o.Stderr
	return c, nil
}

// Run runs the program chosen by o in the module around dir and waits for
// it.
func Run(ctx context.Context, dir string, o Options) error {
	c, err := Command(ctx, dir, o)
	if err != nil {
		return err
	}
	if err := c.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("zelos run: %s exited: %w", strings.Join(c.Args, " "), err)
		}
		return fmt.Errorf("zelos run: %w", err)
	}
	return nil
}
