package project

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
)

// FrameworkModule is the module path of the Zelos framework.
const FrameworkModule = "github.com/zelos-go/zelos"

// FindCheckout returns the root of the Zelos checkout this binary was built
// from, or "" when there is none (a release installed with go install
// pkg@version builds from the read-only module cache, which holds no
// framework root module above cmd/zelos).
//
// Two clues are tried, because neither always survives: the source path the
// compiler recorded for this file (lost with -trimpath or when the checkout
// moved), then the directories above the executable (lost when the binary
// was copied out of the checkout, as a test does).
func FindCheckout() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if root := checkoutAbove(filepath.Dir(file)); root != "" {
			return root
		}
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			return checkoutAbove(filepath.Dir(exe))
		}
	}
	return ""
}

var moduleLine = regexp.MustCompile(`(?m)^\s*module\s+"?([^\s"]+)"?\s*$`)

// checkoutAbove returns the nearest directory at or above dir whose go.mod
// declares FrameworkModule, or "". It walks past other go.mod files, since
// the CLI's own module (cmd/zelos) lies inside the framework's.
func checkoutAbove(dir string) string {
	for d := dir; ; {
		if IsCheckout(d) {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// IsCheckout reports whether dir is the root of a Zelos checkout: its go.mod
// declares FrameworkModule.
func IsCheckout(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	m := moduleLine.FindSubmatch(b)
	return m != nil && string(m[1]) == FrameworkModule
}

var goLine = regexp.MustCompile(`(?m)^\s*go\s+([0-9][0-9.]*)\s*$`)

// workspaceGoVersion returns the go version of the checkout's go.work, the
// toolchain its developers use, or def when it has none.
func workspaceGoVersion(checkout, def string) string {
	b, err := os.ReadFile(filepath.Join(checkout, "go.work"))
	if err != nil {
		return def
	}
	if m := goLine.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return def
}
